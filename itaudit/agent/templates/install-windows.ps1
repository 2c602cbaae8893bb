#Requires -Version 5.1
<#
.SYNOPSIS
    Installs the itaudit collector on this computer as a scheduled task (run once, as administrator).

.DESCRIPTION
    Written by `itaudit agent install --platform windows` for unit {{ unit }}.
    Run it from the folder it was written to (a USB stick, or a share used by a
    domain start-up script):

        powershell -NoProfile -ExecutionPolicy Bypass -File install-itaudit.ps1

    It copies collect.ps1 and run.ps1 to %ProgramFiles%\itaudit (writable only by
    administrators, and allowed by AppLocker's default script rules), keeps its
    data in %ProgramData%\itaudit (SYSTEM and Administrators only), and registers
    the task "{{ task_name }}": as SYSTEM, daily at {{ '%02d' % hour }}:00 with up to
    {{ random_delay }} minutes of random delay, and at start-up after a few minutes.
    Running it again replaces the same files and task (idempotent). It prints
    every step, and says when Constrained Language mode or AppLocker would stop
    the collector. uninstall-itaudit.ps1 removes all of it.
#>
[CmdletBinding()]
param()

Set-StrictMode -Version 1
$ErrorActionPreference = 'Stop'

# -- settings written by itaudit agent install -----------------------------------
$Unit = {{ unit|ps }}
$Mode = {{ mode|ps }}                    # push: to the collector; share: into a shared folder
$DailyHour = {{ hour }}
$RandomDelayMinutes = {{ random_delay }}
$TaskName = {{ task_name|ps }}
# ---------------------------------------------------------------------------------

$Here = $PSScriptRoot
$InstallDir = Join-Path $env:ProgramFiles 'itaudit'
$DataDir = Join-Path $env:ProgramData 'itaudit'
$QueueDir = Join-Path $DataDir 'queue'

function Show-Done([string]$What) {
    Write-Host ('itaudit install: ' + $What)
}

$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object Security.Principal.WindowsPrincipal($identity)
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Host 'itaudit install: run this script as administrator (right-click PowerShell, Run as administrator).'
    exit 1
}

# -- what could stop the collector ----------------------------------------------------
# Under an AppLocker or WDAC script policy, a script the policy does not allow still
# runs, but in Constrained Language mode, where the collector cannot read most sources.
$LanguageMode = [string]$ExecutionContext.SessionState.LanguageMode
Show-Done ('this console runs in ' + $LanguageMode + ' mode')
$AppLockerScripts = 'not configured'
try {
    $policyXml = [string](Get-AppLockerPolicy -Effective -Xml)
    if ($policyXml -match '<RuleCollection Type="Script" EnforcementMode="Enabled"') { $AppLockerScripts = 'enforced' }
    elseif ($policyXml -match '<RuleCollection Type="Script" EnforcementMode="AuditOnly"') { $AppLockerScripts = 'audit only' }
} catch {
    $AppLockerScripts = 'unknown (' + $_.Exception.Message + ')'
}
Show-Done ('AppLocker script rules: ' + $AppLockerScripts)

# -- files ------------------------------------------------------------------------------
foreach ($dir in @($InstallDir, $DataDir, $QueueDir)) {
    if (-not (Test-Path -LiteralPath $dir)) {
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        Show-Done ('created ' + $dir)
    }
}
# The data folder holds the enrolment secret: SYSTEM and Administrators only (by SID,
# so the command is the same on a Vietnamese or an English Windows).
& icacls.exe $DataDir '/inheritance:r' '/grant:r' '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw ('icacls failed on ' + $DataDir + ' (exit ' + $LASTEXITCODE + ')') }
Show-Done ('restricted ' + $DataDir + ' to SYSTEM and Administrators')

foreach ($name in @('collect.ps1', 'run.ps1')) {
    Copy-Item -LiteralPath (Join-Path $Here $name) -Destination (Join-Path $InstallDir $name) -Force
    Show-Done ('copied ' + $name + ' to ' + $InstallDir)
}
$secretSource = Join-Path $Here 'enrolment-secret.txt'
if (Test-Path -LiteralPath $secretSource) {
    Copy-Item -LiteralPath $secretSource -Destination (Join-Path $DataDir 'enrolment-secret.txt') -Force
    Show-Done ('copied the enrolment secret to ' + $DataDir + ' (delete it from the USB stick)')
} elseif ($Mode -eq 'push') {
    Show-Done 'warning: no enrolment-secret.txt beside this script; the collector will refuse the pushes'
}

$Runner = Join-Path $InstallDir 'run.ps1'
if ($AppLockerScripts -eq 'enforced') {
    foreach ($file in @($Runner, (Join-Path $InstallDir 'collect.ps1'))) {
        try {
            $decision = [string](Get-AppLockerPolicy -Effective | Test-AppLockerPolicy -Path $file -User 'Everyone').PolicyDecision
        } catch {
            $decision = 'unknown'
        }
        Show-Done ('AppLocker decision for ' + $file + ': ' + $decision)
        if ($decision -ne 'Allowed') {
            Show-Done ('warning: AppLocker does not allow ' + $file + '; it would run in Constrained Language mode. Allow it with a path rule for ' + $InstallDir + '\*, or sign the scripts with the unit''s code-signing certificate (docs/agent.md)')
        }
    }
}

# -- the scheduled task ------------------------------------------------------------
$arguments = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "' + $Runner + '"'
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments
$at = (Get-Date).Date.AddHours($DailyHour)
$daily = New-ScheduledTaskTrigger -Daily -At $at -RandomDelay (New-TimeSpan -Minutes $RandomDelayMinutes)
$boot = New-ScheduledTaskTrigger -AtStartup
# A start-up delay drawn once per machine: a room of PCs switched on together does not push at once.
$bootDelay = Get-Random -Minimum 5 -Maximum 31
$boot.Delay = 'PT' + $bootDelay + 'M'
$system = New-ScheduledTaskPrincipal -UserId 'S-1-5-18' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -DontStopIfGoingOnBatteries -AllowStartIfOnBatteries -ExecutionTimeLimit (New-TimeSpan -Minutes 30) -MultipleInstances IgnoreNew
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger @($daily, $boot) -Principal $system -Settings $settings -Force | Out-Null
Show-Done ('registered the task "' + $TaskName + '": daily at ' + $at.ToString('HH:mm') + ' (+ up to ' + $RandomDelayMinutes + ' min) and ' + $bootDelay + ' min after start-up, as SYSTEM')
Show-Done ('unit ' + $Unit + ', mode ' + $Mode + '; run it now with: Start-ScheduledTask -TaskName "' + $TaskName + '"')
Show-Done ('the last run is logged in ' + (Join-Path $DataDir 'last-run.log'))
