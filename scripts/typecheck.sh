#!/usr/bin/env bash
# mypy --strict over the package as it installs: screens/ and themes/ appear as
# tvirt.screens and tvirt.themes. mypy cannot map directories to package names, so we
# lay out a tree of symlinks with the installed shape and check that.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/tvirt"
for path in tvirt/*; do
    case "$path" in */__pycache__) continue ;; esac
    ln -s "$root/$path" "$stage/$path"
done
ln -s "$root/screens" "$stage/tvirt/screens"
ln -s "$root/themes" "$stage/tvirt/themes"
ln -s "$root/benchmarks" "$stage/benchmarks"
mypy=${MYPY:-$root/.venv/bin/mypy}
# From inside the tree, so benchmarks' `import tvirt` finds the staged package.
cd "$stage"
# The benchmarks borrow a few test helpers (conftest, tui_helpers), so tests/ is on the path.
# scripts/mutation-check.py is a standalone script; it is checked as a file.
MYPYPATH="$root/tests" "$mypy" --config-file "$root/pyproject.toml" tvirt benchmarks \
    "$root/scripts/mutation-check.py"
