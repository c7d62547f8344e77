"""procvision deploy: the standard-library-only installer and root manager that every bundle carries.

Inside a bundle and in the root tool this package is ``_procvision_deploy``; it imports nothing but the
standard library, itself and (to write wheels) pypa/installer, which every bundle carries beside it. The bundle writer takes the layout from ``bundle_files`` and ``requirements``.
Importing the package loads nothing else (the build hooks import ``codes``).
"""

#: The deploy tool's own version: a root keeps the newest ``procvision-deploy.pyz`` it was given.
__version__ = "1.7.0"
