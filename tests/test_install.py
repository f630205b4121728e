"""An installed wheel imports from outside the checkout, with its data files."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import hooklab.model, hooklab.sim, hooklab.harness
from hooklab.model.diagram import load
from pathlib import Path
import sys
target = Path(sys.argv[1]).resolve()
for module in (hooklab.model, hooklab.sim, hooklab.harness):
    assert target in Path(module.__file__).resolve().parents, module.__file__
assert len(load().nodes) == 21
import hooklab
assert hooklab.__version__ and target in Path(hooklab.__file__).resolve().parents
print("ok", Path(hooklab.model.__file__).resolve())
"""


@pytest.mark.slow
def test_installed_wheel_imports_from_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("hooklab-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        cwd=tmp_path,
    )
    names = {p.name for p in target.iterdir()}
    assert "hooklab" in names
    assert not {"model", "sim", "harness"} & names, "generic names leaked into site-packages"
    # -S: no site, so no editable-install finder; dependencies come from purelib.
    env = {"PYTHONPATH": f"{target}:{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, str(target)],
        check=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert out.startswith("ok")


def test_every_sub_package_is_listed_for_the_wheel() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for top, package in config["tool"]["setuptools"]["package-dir"].items():
        if package == ".":  # the root package is the one __init__.py at the top
            assert (ROOT / "__init__.py").is_file()
            found.add(top)
            continue
        base = ROOT / package
        for init in base.rglob("__init__.py"):
            parts = init.parent.relative_to(base).parts
            found.add(".".join([top, *parts]))
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - found == set(), "listed but missing on disk"
