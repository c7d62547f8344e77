"""Every synthetic wheel the resolver tests serve, in one index (names are unique per scenario)."""

from __future__ import annotations

import random

from tests.support.wheels import WheelSpec

ANY = "py3-none-any"

# -- marker matrix: one app whose dependencies each hang on one kind of marker --------------

MARKER_APP = WheelSpec("mm-app", "1.0", requires=(
    "mm-win; sys_platform == 'win32'",
    "mm-windows-sys; platform_system == 'Windows'",
    "mm-posix; os_name == 'posix'",
    "mm-arm; platform_machine == 'arm64' or platform_machine == 'aarch64'",
    "mm-tomli; python_version < '3.11'",
    "mm-exc; python_full_version < '3.11.0'",
    "mm-cpy; implementation_name == 'cpython'",
    "mm-pypy; implementation_name == 'pypy'",
    "mm-mac; sys_platform == 'darwin'",
    "mm-linux; sys_platform == 'linux' and platform_machine == 'x86_64'",
    "mm-new; python_version >= '3.12'",
    "mm-impl; platform_python_implementation == 'CPython' and python_version == '3.11'",
))
MARKER_EXTRA = WheelSpec("mm-extra", "1.0", extras=("gui", "cli"), requires=(
    "mm-base",
    "mm-gui; extra == 'gui'",
    "mm-gui-win; extra == 'gui' and sys_platform == 'win32'",
    "mm-cli; extra == 'cli'",
))
MARKER_LEAVES = ("mm-windows-sys", "mm-posix", "mm-arm", "mm-tomli", "mm-exc", "mm-cpy", "mm-pypy", "mm-mac",
                 "mm-linux", "mm-new", "mm-impl", "mm-base", "mm-gui", "mm-gui-win", "mm-cli", "mm-win-deep",
                 "mm-leaf")
MARKER_WHEELS = [
    MARKER_APP, MARKER_EXTRA,
    WheelSpec("mm-win", "1.0", requires=("mm-win-deep; python_version < '3.11'",)),  # like pyreadline3
    WheelSpec("mm-patch", "1.0", requires=("mm-leaf; python_full_version >= '3.10.2'",)),
    *(WheelSpec(name, "1.0") for name in MARKER_LEAVES),
]

# -- tag matrix: one version, many files; the installer order decides ------------------------

TAG_FILES = [
    "cp310-cp310-manylinux2014_x86_64",
    "cp310-cp310-manylinux_2_28_x86_64",
    "cp310-cp310-win_amd64",
    "cp311-cp311-win_amd64",
    "cp39-abi3-win_amd64",
    "cp311-cp311-musllinux_1_1_x86_64",
    "cp312-cp312-macosx_10_9_universal2",
    "cp312-cp312-macosx_12_0_arm64",
    "cp312-cp312-macosx_10_9_x86_64",
    "cp311-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64",
    ANY,
]
TAG_WHEELS = [WheelSpec("tm-core", "1.0", tag=tag) for tag in TAG_FILES]
TAG_WHEELS += [
    # nothing that fits a cp310 Linux target: the error must say why for each file
    WheelSpec("tm-only", "2.0", tag="cp312-cp312-win_amd64"),
    WheelSpec("tm-only", "2.0", tag="cp312-cp312-manylinux_2_17_x86_64"),
    WheelSpec("tm-only", "1.0", tag="cp310-cp310-macosx_11_0_arm64"),
    # releases a tuple-of-release-numbers sort puts in the wrong order (1.2 above 1.2.1)
    *(WheelSpec("tm-order", version, tag="cp312-cp312-win_amd64") for version in ("1.2", "1.10", "1.2.1", "1.2.post1")),
    # the newest release lacks a wheel for an older glibc (onnxruntime's case): fall back
    WheelSpec("tm-fallback", "2.0", tag="cp310-cp310-manylinux_2_28_x86_64"),
    WheelSpec("tm-fallback", "1.5", tag="cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64"),
    # a build tag breaks the tie between two files with the same tags
    WheelSpec("tm-build", "1.0", tag=ANY, build="1"),
    WheelSpec("tm-build", "1.0", tag=ANY, build="2"),
]
TM_ONLY_SDIST = "tm_only-2.0.tar.gz"

# -- yanked, Requires-Python, conflicts --------------------------------------------------------

RULE_WHEELS = [
    WheelSpec("yk-lib", "1.0"), WheelSpec("yk-lib", "1.1"),
    WheelSpec("rp-lib", "1.0"), WheelSpec("rp-lib", "2.0"),
    # Requires-Python only inside METADATA (a find-links folder has no index data)
    WheelSpec("rpm-lib", "1.0"), WheelSpec("rpm-lib", "2.0", requires_python=">=3.11"),
    WheelSpec("cf-a", "1.0", requires=("cf-c<2",)), WheelSpec("cf-b", "1.0", requires=("cf-c>=2",)),
    WheelSpec("cf-c", "1.0"), WheelSpec("cf-c", "2.0"),
    # backtracking: dep-x 2.0 needs dep-y>=3 which has no wheel for Windows; dep-x 1.0 works
    WheelSpec("bt-x", "2.0", requires=("bt-y>=3",)), WheelSpec("bt-x", "1.0", requires=("bt-y<3",)),
    WheelSpec("bt-y", "3.0", tag="cp310-cp310-manylinux_2_17_x86_64"), WheelSpec("bt-y", "2.0"),
    # dependency confusion: the index carries an unrelated, higher-versioned SDK
    WheelSpec("procvision-algorithm-sdk", "0.3.2"), WheelSpec("procvision-algorithm-sdk", "9.0.0"),
    WheelSpec("dc-app", "1.0", requires=("procvision-algorithm-sdk>=1.0",)),
    # lock tests: a tiny, real project graph
    WheelSpec("lk-core", "1.0"), WheelSpec("lk-core", "1.1"),
    WheelSpec("lk-app", "1.0", requires=("lk-core>=1.0", "lk-win; sys_platform == 'win32'")),
    WheelSpec("lk-win", "1.0", tag="cp310-cp310-win_amd64"), WheelSpec("lk-win", "1.0", tag="cp312-abi3-win_amd64"),
    WheelSpec("lk-extra", "1.0"),
]
YANKED = {"yk_lib-1.1-py3-none-any.whl": "broken build"}
REQUIRES_PYTHON = {"rp_lib-2.0-py3-none-any.whl": ">=3.12"}

# -- generated scenarios for the cross-check with uv -----------------------------------------

CROSS_TARGETS = [("win_amd64", "3.10"), ("manylinux_2_17_x86_64", "3.10"), ("macosx_11_0_arm64", "3.12"),
                 ("musllinux_1_2_x86_64", "3.11")]
_TAG_POOL = [
    ANY, ANY, "cp310-cp310-win_amd64", "cp311-cp311-win_amd64", "cp39-abi3-win_amd64",
    "cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp310-cp310-manylinux_2_28_x86_64",
    "cp38-abi3-manylinux2014_x86_64", "cp311-cp311-musllinux_1_2_x86_64", "cp311-cp311-musllinux_1_1_x86_64",
    "cp312-cp312-macosx_11_0_arm64", "cp312-cp312-macosx_10_9_universal2", "cp312-cp312-macosx_14_0_arm64",
    "py3-none-win_amd64", "py3-none-macosx_10_9_x86_64",
]
_MARKER_POOL = [
    "", "", "", "sys_platform == 'win32'", "sys_platform != 'win32'", "platform_system == 'Darwin'",
    "os_name == 'posix'", "platform_machine == 'arm64'", "python_version < '3.11'", "python_version >= '3.11'",
    "python_full_version >= '3.12.0'", "implementation_name == 'cpython'", "sys_platform == 'linux'",
]


def generated_scenarios(count: int = 12, seed: int = 751) -> tuple[list[WheelSpec], list[list[str]]]:
    """``count`` random but reproducible package graphs; returns (wheels, root requirements per scenario)."""
    rng = random.Random(seed)
    wheels: list[WheelSpec] = []
    roots: list[list[str]] = []
    for number in range(count):
        names = [f"g{number}-p{i}" for i in range(rng.randint(4, 7))]
        for position, name in enumerate(names):
            versions = sorted({f"{rng.randint(1, 3)}.{rng.randint(0, 4)}" for _ in range(rng.randint(1, 3))})
            for version in versions:
                deps = []
                for later in rng.sample(names[position + 1:], k=min(len(names) - position - 1, rng.randint(0, 3))):
                    spec = rng.choice(["", "", ">=1.0", "<3", ">=2.0", "!=2.0"])
                    marker = rng.choice(_MARKER_POOL)
                    deps.append(f"{later}{spec}" + (f"; {marker}" if marker else ""))
                tags = {ANY} if rng.random() < 0.45 else set(rng.sample(_TAG_POOL, k=rng.randint(1, 4)))
                if rng.random() < 0.2:  # a release whose only wheel is for Windows, or Python >= 3.12
                    wheels.append(WheelSpec(name, version, tag=rng.choice(["cp310-cp310-win_amd64", ANY]),
                                            requires=tuple(deps),
                                            requires_python=rng.choice([None, ">=3.12"])))
                    continue
                for tag in sorted(tags):
                    wheels.append(WheelSpec(name, version, tag=tag, requires=tuple(deps)))
        # every package has an old pure wheel without dependencies, so many targets still resolve
        for name in names:
            wheels.append(WheelSpec(name, "0.1", tag=ANY))
        roots.append([names[0]] + ([f"{names[1]}>=1.0"] if rng.random() < 0.5 else []))
    return _unique(wheels), roots


def _unique(wheels: list[WheelSpec]) -> list[WheelSpec]:
    from tests.support.wheels import wheel_filename

    seen: dict[str, WheelSpec] = {}
    for spec in wheels:
        seen.setdefault(wheel_filename(spec), spec)
    return list(seen.values())
