#Requires -Version 5.1
<#
.SYNOPSIS
    Removes what install-itaudit.ps1 installed: the scheduled task, %ProgramFiles%\itaudit
    and %ProgramData%\itaudit (queued bundles and the enrolment secret). Run as administrator.

.DESCRIPTION
    Written by `itaudit agent install --platform windows`. The collector's signing key
    ("itaudit-collector" in the machine key store) is kept unless -RemoveKey is given:
    a reinstall then signs with the same key, which the collector has pinned.
#>
[CmdletBinding()]
param(
    [switch]$RemoveKey
)

Set-StrictMode -Version 1
$ErrorActionPreference = 'Stop'

$TaskName = {{ task_name|ps }}
$InstallDir = Join-Path $env:ProgramFiles 'itaudit'
$DataDir = Join-Path $env:ProgramData 'itaudit'

function Show-Done([string]$What) {
    Write-Host ('itaudit uninstall: ' + $What)
}

$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object Security.Principal.WindowsPrincipal($identity)
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Host 'itaudit uninstall: run this script as administrator.'
    exit 1
}

$task = Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
if ($null -ne $task) {
    Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
    Show-Done ('removed the task "' + $TaskName + '"')
} else {
    Show-Done ('no task "' + $TaskName + '"')
}
foreach ($dir in @($InstallDir, $DataDir)) {
    if (Test-Path -LiteralPath $dir) {
        Remove-Item -LiteralPath $dir -Recurse -Force
        Show-Done ('removed ' + $dir)
    } else {
        Show-Done ('no ' + $dir)
    }
}
if ($RemoveKey) {
    try {
        $key = [Security.Cryptography.CngKey]::Open('itaudit-collector', [Security.Cryptography.CngProvider]::MicrosoftSoftwareKeyStorageProvider, [Security.Cryptography.CngKeyOpenOptions]::MachineKey)
        $key.Delete()
        Show-Done 'deleted the signing key itaudit-collector (the officer must accept the new key: itaudit hosts rekey)'
    } catch {
        Show-Done ('no signing key removed (' + $_.Exception.Message + ')')
    }
}
