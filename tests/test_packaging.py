"""Build the wheel, install it into a fresh venv and run it from elsewhere."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_wheel_installs_screens_and_themes_inside_tvirt(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(ROOT),
        ],
        cwd=tmp_path,
    )
    wheel = next(dist.glob("tvirt-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert "screens" not in tops and "themes" not in tops
    assert "tvirt/screens/app.py" in names
    assert "tvirt/themes/tvirt.tcss" in names
    # Every package of the source tree is in the wheel (a new subpackage must be listed in
    # pyproject's packages, or the installed tvirt fails on its first import of it).
    packages = {f"tvirt/{p.parent.relative_to(ROOT / 'tvirt').as_posix()}/__init__.py"
                for p in (ROOT / "tvirt").rglob("__init__.py") if p.parent != ROOT / "tvirt"}
    assert "tvirt/ops/__init__.py" in packages
    assert packages - set(names) == set()

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, str(wheel)], cwd=tmp_path, timeout=900)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    exe = str(venv / "bin" / "tvirt")
    version = run([exe, "--version"], cwd=elsewhere).stdout
    assert version.startswith("tvirt ")
    helptext = run([exe, "--help"], cwd=elsewhere).stdout
    assert "usage: tvirt" in helptext and "list" in helptext

    site = run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        cwd=elsewhere,
    )
    purelib = Path(site.stdout.strip())
    assert not (purelib / "screens").exists()
    assert not (purelib / "themes").exists()
    assert (purelib / "tvirt" / "screens").is_dir()
    imported = run(
        [str(venv / "bin" / "python"), "-c", "import tvirt.screens.app, tvirt.themes; print('ok')"],
        cwd=elsewhere,
    )
    assert imported.stdout.strip() == "ok"
