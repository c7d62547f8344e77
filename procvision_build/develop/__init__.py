"""The developer's tools: ``procvision init``, ``validate`` and ``run`` on a project source tree."""
