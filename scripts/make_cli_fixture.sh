#!/usr/bin/env bash
# Regenerate tests/fixtures/cli_export_released.jsonl: sessions exported by the RELEASED
# command line (the code on the `main` branch), which tests/test_cli_compat.py imports with
# the current one. Export lines of the released CLI have no "namespace" or "attributes"
# fields; the current CLI must still import them (default namespace, no attributes).
#
# Every step runs the released CLI itself: `import` of a few hand-written sessions (fixed
# timestamps, a Unicode id, an empty transcript, names and metadata), `demo` (tool calls,
# an error result, an image), then `export`. Usage, from the repository root:
#
#     scripts/make_cli_fixture.sh            # released code from a worktree of `main`
#     RELEASED_REF=v0.1.0 scripts/make_cli_fixture.sh
#
# Needs a Python with the `cli` extra installed ($PYTHON, default .venv/bin/python).
set -euo pipefail

repo=$(git rev-parse --show-toplevel)
ref=${RELEASED_REF:-main}
python=${PYTHON:-$repo/.venv/bin/python}
out=$repo/tests/fixtures/cli_export_released.jsonl
work=$(mktemp -d)
released=$work/released
trap 'git -C "$repo" worktree remove --force "$released" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$repo" worktree add --detach --quiet "$released" "$ref"

# The released package first on the path, ahead of any installed (editable) sessionstore.
released_cli() {
    PYTHONPATH=$released/src "$python" -c \
        'import sys, sessionstore, sessionstore.cli as cli
assert sessionstore.__file__.startswith(sys.argv[1]), sessionstore.__file__
sys.argv = ["sessionstore", *sys.argv[2:]]
cli.main()' "$released/src" "$@"
}

url=sqlite:///$work/released.db
cat >"$work/seed.jsonl" <<'JSONL'
{"id": "released-plain", "created_at": "2025-11-03T09:15:00.000001Z", "updated_at": "2025-11-03T09:20:30.500000Z", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"}, {"role": "assistant", "content": "Hello."}]}
{"id": "released-ünïcode 会话 🚀", "created_at": "2025-11-04T10:00:00.000000Z", "updated_at": "2025-11-04T10:00:00.000000Z", "messages": [{"role": "user", "content": "line one\nline two\ttabbed", "name": "zoë", "metadata": {"lang": "de", "score": 0.5, "tags": ["a", "b"], "nested": {"ok": true, "none": null}}}]}
{"id": "released-empty", "created_at": "2025-11-05T00:00:00.000000Z", "updated_at": "2025-11-06T00:00:00.000000Z", "messages": []}
JSONL

released_cli import "$work/seed.jsonl" --url "$url"
released_cli demo --url "$url" >/dev/null
released_cli export --url "$url" --output "$out"
echo "wrote $out with the CLI of $ref ($(git -C "$repo" rev-parse --short "$ref"))" >&2
