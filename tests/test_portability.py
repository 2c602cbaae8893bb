"""The officer's side runs on Windows: source checks that run on Linux.

Two scans over the package's syntax trees (mypy --platform win32 lives beside the
other mypy run in test_code_style.py):

- **path strings**: a file-system path built by gluing text with "/" where
  pathlib belongs. What is flagged, precisely:
  1. an argument of a file-system call (`open`, `Path(...)`, `os.*`, `os.path.*`,
     `shutil.*`, `glob.glob`, ...) that is built text with "/" in it: an f-string
     `f"{folder}/name"`, a concatenation `folder + "/" + name`, `"%s/x" % folder`,
     or `"/".join(...)`;
  2. the same built text assigned to a name that says it holds a path
     (`*_path`, `*_file`, `*_dir`, `folder`, ...);
  3. `os.path.join` with a literal segment holding "/" (a separator hidden in a
     segment).
  A plain literal such as `Path("inventory/tls")` is not flagged: pathlib turns
  its "/" into the platform's separator. URLs ("://"), schema ids
  ("itaudit/host-report/1"), CIM namespaces ("root/cimv2"), ratios
  (f"{a}/{b}") and CIDR prefixes are never file-system calls' arguments, so
  they are not flagged. What is flagged but right lives in ALLOWED with the
  reason it was accepted.
- **POSIX shell**: a subprocess that needs `sh`: `shell=True`, `os.system`,
  `os.popen`, a command given as one string, `["sh", "-c", ...]`, or a pipe or
  redirection among the arguments. Commands are argument lists, run directly.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "itaudit"

# Paths of the machine being audited, not of the officer's machine: the Linux
# probes read them through the injected context from a Linux host, always "/".
FOREIGN_PATH_TREES = ("itaudit/agent/probes/linux/",)

# (file, source text of the flagged expression) -> why it is right. Reviewed by hand;
# an entry that no longer matches anything fails test_allow_list_entries_are_used.
ALLOWED: dict[tuple[str, str], str] = {}

_FS_CALLS = {
    "open",
    "io.open",
    "Path",
    "PurePath",
    "pathlib.Path",
    "pathlib.PurePath",
    "glob.glob",
    "glob.iglob",
    "tempfile.mkstemp",
    "tempfile.mkdtemp",
    "tempfile.TemporaryDirectory",
    "tempfile.NamedTemporaryFile",
}
_FS_PREFIXES = ("os.path.", "shutil.")
_OS_FS = {
    "open",
    "stat",
    "lstat",
    "listdir",
    "scandir",
    "walk",
    "makedirs",
    "mkdir",
    "remove",
    "unlink",
    "rmdir",
    "rename",
    "replace",
    "chmod",
    "chdir",
    "access",
    "startfile",
}
_PATH_NAME = re.compile(r"(^|_)(path|paths|file|filename|dir|folder|directory)$", re.IGNORECASE)
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "busybox", "cmd", "cmd.exe"}
_SHELL_TOKENS = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "2>&1", "&"}
_SUBPROCESS = {
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
}
_ALWAYS_SHELL = {
    "os.system",
    "os.popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "asyncio.create_subprocess_shell",
}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.why}: {self.text}"


def _name(node: ast.expr) -> str:
    """`os.path.join` for the call's function, '' when it is not a dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _name(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _has_slash(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and "/" in node.value


def _built_with_slash(node: ast.expr) -> bool:
    """Text glued together with "/" from parts not all literal."""
    if isinstance(node, ast.JoinedStr):
        pieces = [v.value for v in node.values if isinstance(v, ast.Constant)]
        text = "".join(str(p) for p in pieces)
        dynamic = any(isinstance(v, ast.FormattedValue) for v in node.values)
        return dynamic and "/" in text and "://" not in text
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts: list[ast.expr] = []

        def flatten(n: ast.expr) -> None:
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
                flatten(n.left)
                flatten(n.right)
            else:
                parts.append(n)

        flatten(node)
        literal = [p for p in parts if isinstance(p, ast.Constant)]
        slash = any(_has_slash(p) for p in literal)
        url = any(isinstance(p.value, str) and "://" in p.value for p in literal)
        return slash and not url and len(literal) < len(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _has_slash(node.left) and "://" not in str(getattr(node.left, "value", ""))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "join" and _has_slash(node.func.value)
    return False


def _is_fs_call(name: str) -> bool:
    if name in _FS_CALLS or name.startswith(_FS_PREFIXES):
        return True
    return name.startswith("os.") and name[3:] in _OS_FS


def path_findings(source: str, file: str = "<snippet>") -> list[Finding]:
    """Every "/"-joined path string in one module (see the module text)."""
    tree = ast.parse(source)
    out: list[Finding] = []

    def add(node: ast.expr, why: str) -> None:
        out.append(Finding(file, node.lineno, ast.get_source_segment(source, node) or "", why))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            args = [*node.args, *(k.value for k in node.keywords)]
            if _is_fs_call(name):
                for arg in args:
                    if _built_with_slash(arg):
                        add(arg, f"path built with '/' given to {name}(); use pathlib's /")
            if name in ("os.path.join", "posixpath.join", "ntpath.join"):
                for arg in node.args:
                    if _has_slash(arg):
                        add(arg, f"literal segment with '/' in {name}(); give each part")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                label = target.attr if isinstance(target, ast.Attribute) else _name(target)
                if value is not None and _PATH_NAME.search(label) and _built_with_slash(value):
                    add(value, f"{label} is built with '/'; use pathlib's /")
    return out


def _argv(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "args"), None)


def _list_needs_shell(node: ast.expr) -> str | None:
    if not isinstance(node, ast.List | ast.Tuple) or not node.elts:
        return None
    head = node.elts[0]
    if (
        isinstance(head, ast.Constant)
        and isinstance(head.value, str)
        and head.value.rsplit("/", 1)[-1] in _SHELLS
    ):
        return f"runs the shell {head.value!r}"
    for elt in node.elts:
        if isinstance(elt, ast.Constant) and elt.value in _SHELL_TOKENS:
            return f"shell syntax {elt.value!r} among the arguments (it is passed literally)"
    return None


def shell_findings(source: str, file: str = "<snippet>") -> list[Finding]:
    """Every subprocess that needs a POSIX shell in one module."""
    tree = ast.parse(source)
    out: list[Finding] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        text = ast.get_source_segment(source, node) or name
        text = text.splitlines()[0]
        why: str | None = None
        if name in _ALWAYS_SHELL:
            why = f"{name} runs its command through a shell"
        elif name in _SUBPROCESS:
            shell = next((k.value for k in node.keywords if k.arg == "shell"), None)
            argv = _argv(node)
            if shell is not None and not (isinstance(shell, ast.Constant) and not shell.value):
                why = "shell=True"
            elif argv is not None and (
                (isinstance(argv, ast.Constant) and isinstance(argv.value, str))
                or isinstance(argv, ast.JoinedStr)
            ):
                why = "the command is one string: give an argument list"
            elif argv is not None:
                why = _list_needs_shell(argv)
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "run":
            # The agent's injected runner: ctx.run(source, [argv...]).
            for arg in node.args:
                why = why or _list_needs_shell(arg)
        if why:
            out.append(Finding(file, node.lineno, text, why))
    return out


def _modules() -> Iterator[tuple[str, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        yield rel, path.read_text(encoding="utf-8")


def _package_path_findings() -> tuple[list[Finding], set[tuple[str, str]]]:
    found: list[Finding] = []
    used: set[tuple[str, str]] = set()
    for rel, source in _modules():
        if rel.startswith(FOREIGN_PATH_TREES):
            continue
        for f in path_findings(source, rel):
            if (rel, f.text) in ALLOWED:
                used.add((rel, f.text))
            else:
                found.append(f)
    return found, used


# --- the scans over the package -------------------------------------------------


def test_no_path_is_built_by_gluing_text_with_slashes() -> None:
    found, _ = _package_path_findings()
    assert not found, "\n".join(map(str, found))


def test_allow_list_entries_are_used() -> None:
    _, used = _package_path_findings()
    assert set(ALLOWED) == used, f"stale ALLOWED entries: {set(ALLOWED) - used}"


def test_no_subprocess_needs_a_posix_shell() -> None:
    found = [f for rel, source in _modules() for f in shell_findings(source, rel)]
    assert not found, "\n".join(map(str, found))


# --- golden cases of the scans themselves -----------------------------------------


@pytest.mark.parametrize(
    "snippet",
    [
        'open(f"{folder}/report.json")',
        'Path(root + "/inventory")',
        'os.makedirs("%s/tls" % base)',
        'shutil.copy(src, "/".join([out, name]))',
        'os.path.exists(f"{home}/.config/itaudit")',
        'os.path.join(root, "inventory/tls")',
        'key_path = f"{base}/agent-key.pem"',
        'self.store_file = workspace + "/inventory/itaudit.db"',
        'Path(tmp, f"{name}/scan.xml")',
    ],
)
def test_path_scan_flags(snippet: str) -> None:
    assert path_findings(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'Path("inventory/tls")',  # pathlib converts the separator
        'Path(root) / "inventory" / "tls"',
        'url = f"https://{host}:{port}/api/v1/reports"',
        'store = f"sqlite:///{path}"',
        'schema = "itaudit/host-report/1"',
        'ns = "root/cimv2"',
        'label = f"{done}/{total}"',  # a ratio, given to no file call
        'net = f"{address}/{prefix}"',  # a CIDR
        'os.path.join(root, "inventory", "tls")',
        'open(path / "report.json")',
        'click.echo(f"{a}/{b}")',
    ],
)
def test_path_scan_leaves_alone(snippet: str) -> None:
    assert not path_findings(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'subprocess.run("nmap -sn 10.0.0.0/24", check=False)',
        "subprocess.run(cmd, shell=True)",
        "subprocess.Popen(argv, shell=flag)",
        'subprocess.check_output(["sh", "-c", "ip neigh | grep REACHABLE"])',
        'subprocess.run(["/bin/bash", "script.sh"])',
        'subprocess.run(["ip", "neigh", "|", "grep", "x"])',
        'subprocess.run(f"icacls {path} /inheritance:r")',
        'os.system("schtasks /query")',
        'os.popen("arp -a")',
        'ctx.run("neigh", ["sh", "-c", "ip neigh"])',
    ],
)
def test_shell_scan_flags(snippet: str) -> None:
    assert shell_findings(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'subprocess.run(["ip", "-j", "neigh", "show"], capture_output=True)',
        "subprocess.run(argv, shell=False)",
        'subprocess.Popen([sys.executable, "-m", "itaudit.check.worker"])',
        'subprocess.run(["icacls", str(path), "/inheritance:r"])',
        'ctx.run("stat", ["stat", "-L", "-c", "%a %U %G %n", "--", *paths])',
    ],
)
def test_shell_scan_leaves_alone(snippet: str) -> None:
    assert not shell_findings(snippet), snippet


# --- Windows behaviour that runs here ----------------------------------------------


def test_console_reconfigured_to_utf8_prints_vietnamese() -> None:
    import io

    from itaudit.cli import utf8_console

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252")  # a redirected cmd.exe
    with pytest.raises(UnicodeEncodeError):
        stream.write("Phòng Tài chính – Kế hoạch")
        stream.flush()
    raw.seek(0)
    raw.truncate()
    utf8_console((stream,))
    stream.write("Phòng Tài chính – Kế hoạch \udcff\n")  # a lone surrogate is replaced
    stream.flush()
    assert raw.getvalue() == "Phòng Tài chính – Kế hoạch ?\n".encode()


def test_assets_csv_saved_by_excel_with_crlf_reads_as_with_lf(workspace) -> None:  # type: ignore[no-untyped-def]
    from itaudit.org import load_organisation

    path = workspace.inventory / "assets.csv"
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    path.write_bytes(text.encode("utf-8"))
    lf = load_organisation(workspace.inventory)
    # Excel's "CSV UTF-8": a BOM and CRLF line ends.
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    crlf = load_organisation(workspace.inventory)
    assert crlf.assets == lf.assets
    assert len(crlf.assets) > 100
    values = [v for a in crlf.assets for v in dataclasses.astuple(a) if isinstance(v, str)]
    assert values and not any("\r" in v for v in values)  # no CR left in any value


def test_agent_key_lives_under_programdata_on_windows() -> None:
    from pathlib import PureWindowsPath

    from itaudit.agent.keys import default_key_path

    path = default_key_path("win32", {"ProgramData": r"D:\ProgramData"})
    assert path == PureWindowsPath(r"D:\ProgramData\itaudit\agent-key.pem")
    assert default_key_path("win32", {}) == PureWindowsPath(r"C:\ProgramData\itaudit\agent-key.pem")


# Get-Acl lines as the script in itaudit/fileaccess.py prints them (SID|type|rights).
# Rights: 2032127 FullControl, 1179817 ReadAndExecute, 1180063 Read+Write, 1048854 Write.
ACL_PRIVATE = (
    "S-1-5-18|Allow|2032127\nS-1-5-32-544|Allow|2032127\nS-1-5-21-7-8-9-1001|Allow|2032127\n"
)
ACL_PROGRAMDATA = ACL_PRIVATE + "S-1-5-32-545|Allow|1179817\nS-1-5-32-545|Allow|1048854\n"


@pytest.mark.parametrize(
    ("acl", "who"),
    [
        (ACL_PRIVATE, ()),
        (ACL_PROGRAMDATA, ("Users",)),
        (ACL_PRIVATE + "S-1-1-0|Allow|1180063\n", ("Everyone",)),
        (ACL_PRIVATE + "S-1-5-11|Allow|1048854\n", ()),  # write-only: cannot read
        (ACL_PRIVATE + "S-1-5-32-545|Deny|1179817\n", ()),
        (
            ACL_PRIVATE + "S-1-5-11|Allow|-1610612736\n",
            ("Authenticated Users",),
        ),  # GENERIC_READ|EXECUTE
    ],
)
def test_windows_acl_read_by_sid(acl: str, who: tuple[str, ...]) -> None:
    from itaudit.fileaccess import parse_acl

    assert parse_acl(acl) == who


def test_windows_exposure_and_restriction_use_argument_lists(tmp_path: Path) -> None:
    from itaudit.fileaccess import exposure, restrict_to_owner

    calls: list[tuple[list[str], dict[str, str]]] = []
    whoami = '"so-tttt\\canbo","S-1-5-21-7-8-9-1001"\r\n'

    def runner(argv: list[str], extra: Mapping[str, str]) -> tuple[int, str]:
        calls.append((argv, dict(extra)))
        if argv[0] == "powershell.exe":
            return 0, ACL_PROGRAMDATA
        return (0, whoami) if argv[0] == "whoami" else (0, "processed 1 file")

    token = tmp_path / "token.txt"
    token.write_text("x" * 20, encoding="utf-8")
    found = exposure(token, "win32", runner)
    assert found.exposed and found.who == ("Users",)
    assert calls[0][1] == {"ITAUDIT_ACL_PATH": str(token)}  # the path never enters the script
    assert restrict_to_owner(token, "win32", runner, {}) is None
    icacls = [argv for argv, _ in calls if argv[0] == "icacls"]
    assert icacls[0] == [
        "icacls",
        str(token),
        "/inheritance:r",
        "/grant:r",
        "*S-1-5-18:F",
        "*S-1-5-32-544:F",
        "*S-1-5-21-7-8-9-1001:F",
    ]
    assert restrict_to_owner(tmp_path, "win32", runner, {}) is None
    icacls = [argv for argv, _ in calls if argv[0] == "icacls"]
    assert icacls[1][4] == "*S-1-5-18:(OI)(CI)F"  # a folder: inherited by new files
    failed = exposure(token, "win32", lambda argv, extra: (1, ""))
    assert failed.error is not None and not failed.exposed  # unknown, not "fine"


def test_windows_owner_from_the_environment_when_whoami_fails(tmp_path: Path) -> None:
    from itaudit.fileaccess import restrict_to_owner

    seen: list[list[str]] = []

    def runner(argv: list[str], extra: Mapping[str, str]) -> tuple[int, str]:
        seen.append(argv)
        return (127, "") if argv[0] == "whoami" else (0, "")

    env = {"USERNAME": "canbo", "USERDOMAIN": "SO-TTTT"}
    assert restrict_to_owner(tmp_path / "f", "win32", runner, env) is None
    assert seen[-1][-1] == "SO-TTTT\\canbo:F"
    problem = restrict_to_owner(tmp_path / "f", "win32", runner, {})
    assert problem is not None and "whoami" in problem


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX mode bits")
def test_posix_exposure_and_restriction(tmp_path: Path) -> None:
    from itaudit.fileaccess import exposure, restrict_to_owner

    token = tmp_path / "token.txt"
    token.write_text("x" * 20, encoding="utf-8")
    token.chmod(0o644)
    assert exposure(token).who == ("group/others (mode 644)",)
    assert restrict_to_owner(token) is None
    assert exposure(token).who == ()
    assert exposure(tmp_path / "missing").error is not None
