#Requires -Version 5.1
<#
.SYNOPSIS
    Record a Windows machine as a new itaudit test fixture (a bundle).

.DESCRIPTION
    Runs the itaudit collector (itaudit-collect.ps1, from `itaudit agent script
    --platform windows --out itaudit-collect.ps1`, kept beside this script)
    into -OutDir. The collector only reads; so does this script, apart from
    the output folder. Then, on a machine with itaudit:

        python tools/capture_fixture.py --case <name> --from-bundle <OutDir> --anonymise

    which anonymises host name, serial, UUID and MAC addresses, writes
    expected.json (to be checked by hand) and a README.md to complete.

    Run it once as a standard user and once as administrator if both views
    matter: they are different cases (BitLocker, for one, is admin-only).

.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File E:\capture_fixture.ps1 -OutDir E:\fixture-pc07
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string]$OutDir
)
$ErrorActionPreference = 'Stop'
$collector = Join-Path $PSScriptRoot 'itaudit-collect.ps1'
if (-not (Test-Path -LiteralPath $collector)) {
    throw "itaudit-collect.ps1 is not beside this script: run 'itaudit agent script --platform windows --out itaudit-collect.ps1' first"
}
if ((Test-Path -LiteralPath $OutDir) -and (Get-ChildItem -LiteralPath $OutDir | Select-Object -First 1)) {
    throw "$OutDir is not empty"
}
& $collector -OutDir $OutDir -NoZip
Write-Host "Bundle recorded in $OutDir. Take it to the officer's machine and run:"
Write-Host "  python tools/capture_fixture.py --case <name> --from-bundle $OutDir --anonymise"
