"""Where things live in a bundle (CONTRACT.md section 6): its file name, its folder, its members."""

from __future__ import annotations

from procvision_build.config.model import ProjectConfig, TargetSpec

MANIFEST = "manifest.json"
LOCK = "pylock.toml"
REQUIREMENTS = "requirements.txt"
SBOM = "sbom.cdx.json"
WHEELS = "wheels"
INSTALLER = "__main__.py"
DEPLOY_PACKAGE = "_procvision_deploy"  # procvision_build/deploy/, copied: the installer the bundle runs
# The members every bundle folder has, besides its wheels and assets (reserved: no asset may use them).
FIXED = (MANIFEST, LOCK, REQUIREMENTS, SBOM)


def bundle_filename(config: ProjectConfig, target: TargetSpec) -> str:
    """``algorithm_example-1.0.0-cp310-win_amd64.zip``: the name normalized as in wheel file names."""
    return f"{config.dist_name}-{config.version}-{target.python_tag}-{target.platform}.zip"


def bundle_folder(config: ProjectConfig) -> str:
    """``algorithm_example-1.0.0``: the folder inside the zip, and the installed version's folder."""
    return f"{config.dist_name}-{config.version}"
