"""The README's command blocks, and the bash script that runs one literally.

A command block is a fenced ``bash`` block.  An HTML comment on the line
before its fence (invisible on GitHub) says how a test runs it, as
``<!-- readme-test: KEY=VALUE ... -->``:

``quick-start``
    The block belongs to the quick start.  The test's checkout already has
    the virtual environment (``.venv``), so the commands that create it,
    install into it or run this test suite are left out; what remains (the
    quick start's sync) runs before every other block.
``serve=L[,L]`` and ``ready=tcp:PORT`` or ``ready=http://...``
    Line ``L`` starts a server in the foreground (a user then opens another
    terminal): it runs in the background, the script waits until the
    server is ready, and the server gets SIGTERM at the next ``serve`` line
    or at the end of the block, and must then exit 0 (or end by the signal,
    143, as a shell reports it; anything else is a crash).  A line that already
    ends with ``&`` is left as it is.
``watch=L:SECONDS``
    Line ``L`` watches until interrupted (``kubectl get -w``): it runs for
    SECONDS, must still be running then, and is stopped (its exit code,
    after SIGTERM, is its own business).
``daemon=URL``
    The block talks to a running agent at ``URL``: the test starts one (with
    the webhook secrets the block uses) and the block's ``URL`` is replaced
    by the daemon's local address.
``skip=REASON``
    The block needs what a test cannot have (REASON says what).

Every line that runs a command is checked: a ``# exit N`` comment on the
line is the exit code it must end with, any other command must exit 0.
Where a command ends is decided by bash itself (``bash -n`` on the lines so
far), so a command spread over several lines is checked once, at its end.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_FENCE = re.compile(r"^```bash\s*$")
_MARK = re.compile(r"^<!--\s*readme-test:(.*?)-->\s*$")
_EXIT = re.compile(r"#\s*exit (\d+)\b")
_COMMENT = re.compile(r"\s+#[^'\"]*$")
_VENV_PARTS = ("python3 -m venv .venv", ".venv/bin/pip install", ".venv/bin/python -m pytest")

PREAMBLE = """\
__check() {
  if [ "$2" != "$1" ]; then echo "README line $3: exit $2, expected $1" >&2; exit 97; fi
}
__ready() {
  for _ in $(seq 600); do
    case "$1" in
      tcp:*) (exec 3<>"/dev/tcp/127.0.0.1/${1#tcp:}") 2>/dev/null && return 0 ;;
      *) curl -fsS -o /dev/null "$1" 2>/dev/null && return 0 ;;
    esac
    if [ -n "$2" ] && ! kill -0 "$2" 2>/dev/null; then
      echo "README line $3: the server exited" >&2; exit 98
    fi
    sleep 0.1
  done
  echo "README line $3: $1 never became ready" >&2; exit 98
}
__stop() {
  [ -z "$1" ] && return 0
  kill -0 "$1" 2>/dev/null || { wait "$1"; echo "README line $2: the server exited early ($?)" >&2; exit 98; }
  kill -TERM "$1"; wait "$1"; local rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 143 ] || {
    echo "README line $2: the server exited $rc after SIGTERM" >&2; exit 98
  }
}
__interrupt() {
  kill -0 "$1" 2>/dev/null || { wait "$1"; echo "README line $2: the watch ended early ($?)" >&2; exit 98; }
  kill -TERM "$1"; wait "$1"; return 0
}
__serving=""
"""


@dataclass
class Block:
    """One command block: where it is, its lines and its mark."""

    line: int  # of the README, where the block's first command line is
    heading: str
    lines: list[str]
    mark: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"line {self.line} ({self.heading})"


def blocks(readme: Path) -> list[Block]:
    found: list[Block] = []
    text = readme.read_text().splitlines()
    heading, i = "", 0
    while i < len(text):
        if text[i].startswith("#") and not text[i].startswith("#!"):
            heading = text[i].lstrip("#").strip()
        if _FENCE.match(text[i]):
            mark = _MARK.match(text[i - 1]) if i else None
            end = text.index("```", i + 1)
            found.append(Block(i + 2, heading, text[i + 1 : end], _parse_mark(mark[1]) if mark else {}))
            i = end
        i += 1
    return found


def _parse_mark(text: str) -> dict[str, str]:
    mark: dict[str, str] = {}
    for word in shlex.split(text):
        key, _, value = word.partition("=")
        mark[key] = value
    return mark


def quick_start_commands(block: Block) -> list[str]:
    """The quick start's commands that remain once the environment exists."""
    commands = [c.strip() for c in " ".join(block.lines).split("&&")]
    return [c for c in commands if c and not c.startswith(_VENV_PARTS)]


def _complete(lines: list[str]) -> bool:
    if lines[-1].rstrip().endswith("\\"):  # continued on the next line (bash -n accepts it at the end)
        return False
    done = subprocess.run(["bash", "-n"], input="\n".join(lines) + "\n", capture_output=True, text=True)
    return done.returncode == 0


def _background(line: str) -> str:
    """``line`` run in the background (its trailing comment kept after the ``&``)."""
    comment = _COMMENT.search(line)
    command, rest = (line[: comment.start()], line[comment.start() :]) if comment else (line, "")
    return line if command.rstrip().endswith("&") else f"{command} &{rest}"


def _numbers(value: str) -> set[int]:
    return {int(n) for n in value.split(",") if n}


def script(block: Block, replace: dict[str, str] | None = None) -> str:
    """The bash script that runs ``block`` line by line, checking each command."""
    serve = _numbers(block.mark.get("serve", ""))
    ready = block.mark.get("ready", "")
    watch = dict(w.split(":", 1) for w in block.mark.get("watch", "").split(",") if w)
    out, pending = [PREAMBLE], []
    for n, raw in enumerate(block.lines, start=1):
        line = raw
        for old, new in (replace or {}).items():
            line = line.replace(old, new)
        pending.append(raw)
        if n in serve:
            out.append(f'__stop "$__serving" {n}')
            out.append(_background(line))
            out.append(f'__serving=$!; __ready {shlex.quote(ready)} "$__serving" {n}')
            pending = []
            continue
        if str(n) in watch:
            out.append(_background(line))
            out.append(f'__w=$!; sleep {watch[str(n)]}; __interrupt "$__w" {n}')
            pending = []
            continue
        out.append(line)
        if not _complete(pending):
            continue
        commands = [p for p in pending if p.strip() and not p.lstrip().startswith("#")]
        pending = []
        if commands:
            expected = _EXIT.search(raw)
            out.append(f"__check {expected[1] if expected else 0} $? {n}")
    out.append(f'__stop "$__serving" {len(block.lines)}')
    return "\n".join(out) + "\n"
