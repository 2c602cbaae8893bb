"""collect.ps1 parsed by a real PowerShell grammar, then checked on its syntax tree.

No PowerShell runs where the suite runs, so the collector is parsed with the
tree-sitter PowerShell grammar (PyPI `tree-sitter-powershell`, a test extra:
this test always runs, it is never skipped). On the tree it checks:

1. syntax: no ERROR or MISSING node, except the reviewed grammar gaps below;
2. Windows PowerShell 5.1: every command is a function of the script, an
   allow-listed cmdlet or an allow-listed Windows program, and every .NET type
   (`[Type]` literals and `New-Object TypeName`) and COM class is allow-listed:
   each entry says where it comes from on Windows PowerShell 5.1 / .NET
   Framework 4.x, so a cmdlet of PowerShell 7 or a .NET Core type fails here;
3. array unrolling where a list is meant: PowerShell sends the output of a
   statement used as a value (`$x = if (...) { @(...) }`), and of a pipeline,
   down the pipeline, which unrolls arrays: a one-item list becomes the item,
   an empty one $null, and ConvertTo-Json then writes `{...}` or `null`
   instead of `[...]`.

Each check also runs on small snippets with the mistake in them, so the suite
proves it catches what it is meant to catch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from itaudit.agent.windows_live import collector_script

_PARSER = Parser(Language(tree_sitter_powershell.language()))

# -- 1. syntax ---------------------------------------------------------------------
#
# Known gaps of the grammar: exact text of an ERROR node -> why it is valid
# PowerShell. Reviewed by hand; anything else that does not parse fails.
#
# Today collect.ps1 has none: the one gap it used to hit, a comma list as a
# command argument (`Select-Object -Property Name, Desc, Other`, valid since
# PowerShell 1.0: the comma operator builds the array the -Property parameter
# takes), is avoided by writing property lists as `@(...)` arrays in variables,
# which both PowerShell and the grammar accept (see ../shared/LEVEL1.md).
KNOWN_GRAMMAR_GAPS: dict[str, str] = {}


def parse(script: str) -> Node:
    return _PARSER.parse(script.encode("utf-8")).root_node


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _line(node: Node) -> int:
    return node.start_point[0] + 1


def _walk(node: Node, stop: frozenset[str] = frozenset()) -> Iterator[Node]:
    yield node
    for child in node.children:
        if child.type not in stop:
            yield from _walk(child, stop)


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def syntax_problems(script: str) -> list[str]:
    out = []
    for node in _walk(parse(script)):
        if node.is_missing:
            out.append(f"line {_line(node)}: missing {node.type!r}")
        elif node.type == "ERROR" and _text(node) not in KNOWN_GRAMMAR_GAPS:
            out.append(f"line {_line(node)}: does not parse: `{_short(_text(node))}`")
    return out


# -- 2. Windows PowerShell 5.1 only ---------------------------------------------------
#
# Cmdlets, by the module that ships them with Windows PowerShell 5.1. Those of
# the Windows feature modules exist from Windows 8 / Server 2012 on; where one
# is missing (an older or stripped-down system) the collector records the
# source as `absent`, which is why they may be used at all.
CMDLETS: dict[str, str] = {
    "Add-Type": "Microsoft.PowerShell.Utility, since 2.0 (compiles C# with .NET Framework)",
    "Compress-Archive": "Microsoft.PowerShell.Archive, since 5.0",
    "ConvertTo-Json": "Microsoft.PowerShell.Utility, since 3.0",
    "ForEach-Object": "Microsoft.PowerShell.Core, since 1.0",
    "Get-BitLockerVolume": "BitLocker module, Windows 8 / Server 2012 (with the BitLocker feature)",
    "Get-ChildItem": "Microsoft.PowerShell.Management, since 1.0",
    "Get-CimAssociatedInstance": "CimCmdlets, since 3.0",
    "Get-CimInstance": "CimCmdlets, since 3.0",
    "Get-Content": "Microsoft.PowerShell.Management, since 1.0 (-Encoding Unicode in 5.1)",
    "Get-Item": "Microsoft.PowerShell.Management, since 1.0",
    "Get-LocalGroupMember": "Microsoft.PowerShell.LocalAccounts, new in 5.1 (Windows 10 / Server 2016; "
    "not in 32-bit PowerShell on 64-bit Windows)",
    "Get-LocalUser": "Microsoft.PowerShell.LocalAccounts, new in 5.1 (Windows 10 / Server 2016; "
    "not in 32-bit PowerShell on 64-bit Windows)",
    "Get-Location": "Microsoft.PowerShell.Management, since 1.0",
    "Get-MpComputerStatus": "Defender module, Windows 8 / Server 2016 (absent without Defender)",
    "Get-MpPreference": "Defender module, Windows 8 / Server 2016 (absent without Defender)",
    "Get-NetAdapter": "NetAdapter module, Windows 8 / Server 2012",
    "Get-NetFirewallProfile": "NetSecurity module, Windows 8 / Server 2012",
    "Get-NetIPConfiguration": "NetTCPIP module, Windows 8 / Server 2012",
    "Get-UICulture": "Microsoft.PowerShell.Utility, since 1.0",
    "Join-Path": "Microsoft.PowerShell.Management, since 1.0",
    "New-Item": "Microsoft.PowerShell.Management, since 1.0",
    "New-Object": "Microsoft.PowerShell.Utility, since 1.0 (-ComObject since 1.0)",
    "Out-Null": "Microsoft.PowerShell.Core, since 1.0",
    "Out-String": "Microsoft.PowerShell.Utility, since 1.0",
    "Remove-Item": "Microsoft.PowerShell.Management, since 1.0",
    "Resolve-Path": "Microsoft.PowerShell.Management, since 1.0",
    "Select-Object": "Microsoft.PowerShell.Utility, since 1.0",
    "Set-StrictMode": "Microsoft.PowerShell.Core, since 2.0",
    "Where-Object": "Microsoft.PowerShell.Core, since 1.0",
    "Write-Host": "Microsoft.PowerShell.Utility, since 1.0",
}
# Windows programs run by the script (System32 on every supported Windows).
PROGRAMS: dict[str, str] = {
    "netsh.exe": "netsh wlan, Windows Vista / Server 2008 on (WLAN service)",
    "secedit.exe": "secedit /export, Windows 2000 on (needs administrator rights)",
}
# .NET types and PowerShell accelerators, by the name as written, lower case,
# without `System.` and without `[]` (PowerShell resolves [IO.File] as System.IO.File).
TYPES: dict[str, str] = {
    "bool": "accelerator, System.Boolean",
    "byte": "accelerator, System.Byte",
    "int": "accelerator, System.Int32",
    "object": "accelerator, System.Object",
    "string": "accelerator, System.String",
    "switch": "accelerator, System.Management.Automation.SwitchParameter",
    "scriptblock": "accelerator, System.Management.Automation.ScriptBlock",
    "type": "accelerator, System.Type",
    "guid": "accelerator, System.Guid",
    "ordered": "accelerator for ordered hashtable literals, since PowerShell 3.0",
    "pscustomobject": "accelerator, since PowerShell 3.0",
    "cmdletbinding": "attribute, System.Management.Automation.CmdletBindingAttribute (2.0)",
    "parameter": "attribute, System.Management.Automation.ParameterAttribute (2.0)",
    "datetime": ".NET Framework 1.0",
    "math": ".NET Framework 1.0",
    "timezoneinfo": ".NET Framework 3.5",
    "unauthorizedaccessexception": ".NET Framework 1.0",
    "security.securityexception": ".NET Framework 1.0",
    "diagnostics.stopwatch": ".NET Framework 2.0",
    "globalization.cultureinfo": ".NET Framework 1.0",
    "io.file": ".NET Framework 1.0",
    "io.path": ".NET Framework 1.0",
    "text.utf8encoding": ".NET Framework 1.0",
    "security.cryptography.sha256": ".NET Framework 1.0",
    # The bundle signature (collect.ps1 `# -- signing ---`): CNG in System.Core, .NET Framework 3.5
    # (learn.microsoft.com, "ECDsaCng Class": HashAlgorithm = CngAlgorithm.Sha256,
    # Key.Export(CngKeyBlobFormat.EccPublicBlob), SignData).
    "security.cryptography.cngalgorithm": ".NET Framework 3.5, System.Core",
    "security.cryptography.cngkey": ".NET Framework 3.5, System.Core",
    "security.cryptography.cngkeyblobformat": ".NET Framework 3.5, System.Core",
    "security.cryptography.cngkeycreationparameters": ".NET Framework 3.5, System.Core",
    "security.cryptography.cngprovider": ".NET Framework 3.5, System.Core",
    "security.cryptography.ecdsacng": ".NET Framework 3.5, System.Core",
    "array": ".NET Framework 1.0 (Array.Sort with a comparer)",
    "stringcomparer": ".NET Framework 2.0 (StringComparer.Ordinal)",
    "convert": ".NET Framework 1.0 (Convert.ToBase64String)",
    "security.principal.windowsbuiltinrole": ".NET Framework 1.0",
    "security.principal.windowsidentity": ".NET Framework 1.0",
    "security.principal.windowsprincipal": ".NET Framework 1.0",
    "management.automation.commandnotfoundexception": "System.Management.Automation (PowerShell 1.0)",
    "management.automation.itemnotfoundexception": "System.Management.Automation (PowerShell 1.0)",
    "itauditnetapi": "compiled by the script's own Add-Type (C#, netapi32 NetUserModalsGet)",
}
# COM classes (New-Object -ComObject), by ProgID.
COM_CLASSES: dict[str, str] = {
    "microsoft.update.session": "Windows Update Agent API, on every supported Windows",
}


def own_functions(root: Node) -> set[str]:
    return {
        _text(n).lower()
        for n in _walk(root)
        if n.type == "function_name" and n.parent and n.parent.type == "function_statement"
    }


def _command_name(command: Node) -> Node | None:
    for child in command.children:
        if child.type == "command_name":
            return child
        if child.type == "command_name_expr":
            # `& $Read`: a script block held in a variable, not a command name.
            return next((c for c in child.children if c.type == "command_name"), None)
    return None


def _is_type(node: Node) -> bool:
    """A type as written: `[Type]`, or an attribute `[Name(...)]`."""
    return (
        node.type == "type_spec"
        and node.parent is not None
        and node.parent.type in ("type_literal", "attribute_name")
    )


def _type_key(written: str) -> str:
    name = re.sub(r"\[.*$", "", written.strip()).lower()  # byte[] -> byte, List[string] -> list
    return name.removeprefix("system.")


def _new_object_targets(command: Node) -> Iterator[tuple[str, str, Node]]:
    """("type" | "com", name, node) of New-Object: -TypeName, -ComObject or the first positional."""
    elements = next((c for c in command.children if c.type == "command_elements"), None)
    if elements is None:
        return
    parameter: str | None = None
    positional_seen = False
    for el in elements.children:
        if el.type == "command_argument_sep":
            continue
        if el.type == "command_parameter":
            parameter = _text(el).lower()
            continue
        value = _text(el).strip("'\"")
        if parameter in ("-comobject", "-com"):
            yield "com", value, el
        elif parameter in ("-typename", "-type") or (parameter is None and not positional_seen):
            yield "type", value, el
        positional_seen = positional_seen or parameter is None
        parameter = None


def ps51_problems(script: str) -> list[str]:
    root = parse(script)
    own = own_functions(root)
    cmdlets = {k.lower() for k in CMDLETS}
    out = []
    for node in _walk(root):
        if node.type == "command":
            name_node = _command_name(node)
            if name_node is None:
                continue
            name = _text(name_node)
            low = name.lower()
            if low in own or low in cmdlets or low in PROGRAMS:
                pass
            elif low.endswith(".exe"):
                out.append(f"line {_line(node)}: program {name} is not in PROGRAMS")
            else:
                out.append(
                    f"line {_line(node)}: command {name} is not a function of the script nor an "
                    "allow-listed Windows PowerShell 5.1 cmdlet (aliases are not allowed either)"
                )
            if low == "new-object":
                for kind, value, el in _new_object_targets(node):
                    listed = COM_CLASSES if kind == "com" else TYPES
                    key = value.lower() if kind == "com" else _type_key(value)
                    if key not in listed:
                        out.append(
                            f"line {_line(el)}: New-Object {value}: "
                            f"{'COM class' if kind == 'com' else '.NET type'} not allow-listed"
                        )
        elif _is_type(node) and _type_key(_text(node)) not in TYPES:
            out.append(
                f"line {_line(node)}: type [{_text(node)}] is not allow-listed as available "
                "in Windows PowerShell 5.1 / .NET Framework 4.x"
            )
    return out


def used_names(script: str) -> tuple[set[str], set[str], set[str], set[str]]:
    """(cmdlets, programs, types, COM classes) the script uses, as allow-list keys."""
    root = parse(script)
    cmds, types, com = set(), set(), set()
    for node in _walk(root):
        if node.type == "command" and (name := _command_name(node)) is not None:
            cmds.add(_text(name).lower())
            if _text(name).lower() == "new-object":
                for kind, value, _el in _new_object_targets(node):
                    (com if kind == "com" else types).add(
                        value.lower() if kind == "com" else _type_key(value)
                    )
        elif _is_type(node):
            types.add(_type_key(_text(node)))
    programs = {c for c in cmds if c.endswith(".exe")}
    return cmds - programs, programs, types, com


# -- 3. array unrolling where a list is meant ---------------------------------------------

_STATEMENTS = {
    "if_statement": "an `if`",
    "switch_statement": "a `switch`",
    "foreach_statement": "a `foreach`",
    "for_statement": "a `for`",
    "while_statement": "a `while`",
    "do_statement": "a `do`",
    "try_statement": "a `try`",
}
# Nested script blocks and sub-expressions have their own output.
_OWN_OUTPUT = frozenset({"script_block_expression", "array_expression", "sub_expression"})
# Commands whose output is one object whatever the input count.
_ONE_OBJECT = {"out-string", "measure-object", "convertto-json", "join-path", "get-location"}


def _reduce(node: Node) -> Node:
    """The node an expression comes down to (through the grammar's one-child layers)."""
    while node.named_child_count == 1 and node.type not in (
        "array_expression",
        "expression_with_unary_operator",
        "command",
        "hash_literal_expression",
    ):
        node = node.named_children[0]
    return node


def _is_array(node: Node) -> bool:
    """An @(...) or a `1, 2` list. A `,@(...)` is not: the unary comma survives unrolling."""
    value = _reduce(node)
    return value.type == "array_expression" or (
        value.type == "array_literal_expression" and any(c.type == "," for c in value.children)
    )


def _branch_outputs(statement: Node) -> Iterator[Node]:
    """Top-level pipelines of every block of a statement (branches, clauses, loop bodies)."""
    for node in _walk(statement, _OWN_OUTPUT):
        if node.type == "statement_block":
            body = next((c for c in node.children if c.type == "statement_list"), None)
            for item in body.children if body else ():
                if item.type == "pipeline":
                    yield item


def _assigned_value(node: Node) -> Node | None:
    """The value of an assignment or of a hashtable entry."""
    marker = "assignement_operator" if node.type == "assignment_expression" else "="
    seen = False
    for child in node.children:
        if seen and child.is_named:
            return child
        seen = seen or child.type == marker
    return None


def _commands_of(pipeline: Node) -> list[Node]:
    if pipeline.type != "pipeline":
        return []
    chain = next((c for c in pipeline.children if c.type == "pipeline_chain"), None)
    return [c for c in chain.children if c.type == "command"] if chain else []


def _scope(node: Node) -> Node:
    while node.parent is not None and node.type not in ("script_block", "program"):
        node = node.parent
    return node


def _used_as_list(scope: Node, variable: str) -> Node | None:
    for node in _walk(scope):
        if node.type == "element_access" or (
            node.type == "member_access" and _text(node.children[-1]).lower() in ("count", "length")
        ):
            target = node.children[0]
            if target.type == "variable" and _text(target).lower() == variable:
                return node
    return None


def unrolling_problems(script: str) -> list[str]:
    out = []
    for node in _walk(parse(script)):
        if node.type in ("assignment_expression", "hash_entry"):
            value = _assigned_value(node)
            if value is None:
                continue
            target = _short(_text(node.children[0]), 40)
            if value.type in _STATEMENTS and any(_is_array(p) for p in _branch_outputs(value)):
                out.append(
                    f"line {_line(node)}: `{_short(_text(node))}`: {_STATEMENTS[value.type]} used "
                    "as a value sends its output down the pipeline, which unrolls the array (one "
                    "item becomes the item, none becomes $null); assign "
                    f"{target} = @(...) inside each branch instead"
                )
            commands = _commands_of(value)
            if not commands:
                continue
            last = _command_name(commands[-1])
            if last is not None and _text(last).lower() in _ONE_OBJECT:
                continue
            if node.type == "hash_entry":
                out.append(
                    f"line {_line(node)}: `{_short(_text(node))}`: pipeline output as a field is "
                    "a list, one object or $null depending on the count; wrap it in @(...)"
                )
            else:
                variable = _text(node.children[0]).strip().lower()
                use = _used_as_list(_scope(node), variable)
                if use is not None:
                    out.append(
                        f"line {_line(node)}: `{_short(_text(node))}` is used as a list "
                        f"(`{_text(use)}`, line {_line(use)}) but pipeline output is unrolled: "
                        f"assign {target} = @(...)"
                    )
        elif node.type == "command":
            name = _command_name(node)
            chain = node.parent
            if (
                name is not None
                and _text(name).lower() == "convertto-json"
                and chain is not None
                and chain.type == "pipeline_chain"
                and chain.children[0].start_byte != node.start_byte
            ):
                out.append(
                    f"line {_line(node)}: `{_short(_text(chain))}`: piping into ConvertTo-Json "
                    "unrolls the list (one item is written as an object, none as nothing); "
                    "pass it with -InputObject"
                )
    return out


# -- the collector ---------------------------------------------------------------------


def test_the_collector_parses_with_the_powershell_grammar():
    assert syntax_problems(collector_script()) == []


def test_known_grammar_gaps_are_still_in_the_script():
    """A reviewed gap that no longer occurs is removed from the list, not kept 'just in case'."""
    errors = {_text(n) for n in _walk(parse(collector_script())) if n.type == "ERROR"}
    assert sorted(set(KNOWN_GRAMMAR_GAPS) - errors) == []


def test_the_collector_uses_only_windows_powershell_51_commands_and_types():
    assert ps51_problems(collector_script()) == []


def test_every_allow_list_entry_is_used_by_the_collector():
    cmds, programs, types, com = used_names(collector_script())
    assert sorted({k.lower() for k in CMDLETS} - cmds) == []
    assert sorted(set(PROGRAMS) - programs) == []
    assert sorted(set(TYPES) - types) == []
    assert sorted(set(COM_CLASSES) - com) == []


def test_the_collector_never_unrolls_a_list():
    assert unrolling_problems(collector_script()) == []


def test_save_source_writes_list_sources_as_arrays():
    """The fix itself: the list value is assigned inside the branch and given to -InputObject."""
    code = collector_script()
    assert "$value = @(& $Read @Arguments)" in code
    assert "ConvertTo-Json -InputObject $value" in code
    assert not re.search(r"^\s*\$value\s*=\s*if\b", code, re.M)


# -- the checks catch what they are for ------------------------------------------------------


@pytest.mark.parametrize(
    "snippet",
    [
        "if ($x { 1 }",
        "$h = @{ A = 1",
        "function F { param([string]$a) ",
        "Get-X | | Out-Null",
    ],
)
def test_the_grammar_check_catches_syntax_errors(snippet):
    assert syntax_problems(snippet) != []


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        ("Get-Uptime", "command Get-Uptime"),  # PowerShell 6.1+
        ("'{}' | Test-Json", "command Test-Json"),  # PowerShell 6.1+
        ("$x | Join-String -Separator ','", "command Join-String"),  # PowerShell 6.2+
        ("gci C:\\", "command gci"),  # aliases are not allowed
        ("& whoami.exe /groups", "program whoami.exe"),
        ("[System.Text.Json.JsonSerializer]::Serialize($x)", "System.Text.Json.JsonSerializer"),
        ("$k = [Security.Cryptography.Ed25519]::Create()", "Ed25519"),
        ("$o = New-Object System.Net.Http.HttpClient", "New-Object System.Net.Http.HttpClient"),
        ("$o = New-Object -TypeName Foo.Bar -ArgumentList 1", "New-Object Foo.Bar"),
        ("$o = New-Object -ComObject Shell.Application", "COM class"),
        ("function F { [Experimental('X', 'Hide')] param() }", "Experimental"),  # 7.0+
    ],
)
def test_the_ps51_check_catches_what_51_does_not_have(snippet, needle):
    problems = ps51_problems(snippet)
    assert any(needle in p for p in problems), problems


def test_the_ps51_check_accepts_the_scripts_own_functions_and_dynamic_calls():
    snippet = (
        "function Save-Thing([scriptblock]$Read) { & $Read }\n"
        "Save-Thing { Get-Item -LiteralPath 'HKLM:\\SOFTWARE' }\n"
        "$e = New-Object System.Text.UTF8Encoding($false)\n"
        "$s = New-Object -ComObject Microsoft.Update.Session\n"
    )
    assert ps51_problems(snippet) == []


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        # The Save-Source line this suite was written for.
        (
            "$value = if ($List) { @(& $Read @Arguments) } else { & $Read @Arguments }",
            "an `if` used as a value",
        ),
        ("$v = switch ($k) { 'a' { @(1) } default { @() } }", "a `switch` used as a value"),
        ("$v = foreach ($i in $all) { 1, 2 }", "a `foreach` used as a value"),
        ("$o = @{ L = if ($c) { @($a) } else { @() } }", "an `if` used as a value"),
        (
            "[pscustomobject]@{ DNS = $cfg.DNSServer | ForEach-Object { $_.ServerAddresses } }",
            "pipeline output as a field",
        ),
        (
            "$m = Get-LocalGroupMember -SID 'S-1-5-32-544'\n$first = $m[0]",
            "is used as a list",
        ),
        (
            "function F { $rows = Get-CimInstance Win32_Service | Where-Object { $_ }\n"
            "  if ($rows.Count -gt 0) { } }",
            "is used as a list",
        ),
        ("$content = $items | ConvertTo-Json -Depth 8", "piping into ConvertTo-Json"),
    ],
)
def test_the_unrolling_check_catches_lists_that_lose_their_shape(snippet, needle):
    problems = unrolling_problems(snippet)
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize(
    "snippet",
    [
        "if ($List) { $value = @(& $Read @Arguments) } else { $value = & $Read @Arguments }",
        "$w = if ($c) { ,@($a) } else { ,@() }",  # the unary comma survives unrolling
        "$base = if ($PSScriptRoot) { $PSScriptRoot } else { (Get-Location).Path }",
        "$o = [pscustomobject]@{ IP = @($cfg.IPv4Address | Where-Object { $_ }) }",
        "$o = @{ Text = Get-X | Out-String; Name = (Get-UICulture).Name }",
        "$key = Get-Item -LiteralPath $Path\n$key.GetValueNames()",
        "$m = @(Get-LocalGroupMember -SID 'S-1-5-32-544')\n$first = $m[0]",
        "$content = ConvertTo-Json -InputObject @($items) -Depth 8 -Compress",
    ],
)
def test_the_unrolling_check_accepts_the_forms_that_keep_lists(snippet):
    assert unrolling_problems(snippet) == []
