#!/usr/bin/env bash
# Installs what tvirt needs on Debian 12 (as root): system packages, then a venv in .venv
# with tvirt and its Python dependencies. Safe to run again.
#   scripts/install.sh        the app only
#   scripts/install.sh --dev  also the test components and test tools
#   scripts/install.sh --bench  --dev, plus the benchmarks' peers (virt-manager, Xvfb)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=app
[ "${1:-}" = "--dev" ] && mode=all
[ "${1:-}" = "--bench" ] && mode=bench
bash scripts/install-system.sh "$mode"
if [ ! -x .venv/bin/python ]; then
    echo "install: creating .venv"
    /usr/bin/python3 -m venv .venv
fi
echo "install: installing tvirt into .venv"
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "$mode" != app ]; then
    .venv/bin/python -m pip install --quiet -e '.[dev]'
else
    .venv/bin/python -m pip install --quiet -e .
fi
# Shell completion (tvirt completion bash|zsh prints the same scripts): bash-completion
# loads it on the first TAB after `tvirt`, zsh finds _tvirt on its default fpath.
bash_dir=/usr/share/bash-completion/completions
zsh_dir=/usr/local/share/zsh/site-functions
install -d -m 0755 "$bash_dir" "$zsh_dir"
.venv/bin/tvirt completion bash > "$bash_dir/tvirt"
.venv/bin/tvirt completion zsh > "$zsh_dir/_tvirt"
chmod 0644 "$bash_dir/tvirt" "$zsh_dir/_tvirt"
echo "install: completion for bash ($bash_dir/tvirt) and zsh ($zsh_dir/_tvirt)"
echo "install: done ($(.venv/bin/tvirt --version))"
