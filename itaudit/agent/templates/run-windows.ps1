#Requires -Version 5.1
<#
.SYNOPSIS
    The itaudit scheduled run: collect this computer, then push the bundle to the
    collector or drop it into the shared folder. Started by the task that
    install-itaudit.ps1 registered; written by `itaudit agent install`.

.DESCRIPTION
    Bundles wait in %ProgramData%\itaudit\queue until they are sent: a run that
    cannot reach the collector keeps its bundle, and the next run sends the oldest
    first. The queue keeps at most {{ queue_limit }} bundles (the oldest are dropped).
    Each run writes what it did to %ProgramData%\itaudit\last-run.log.
#>
[CmdletBinding()]
param()

Set-StrictMode -Version 1
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# -- settings written by itaudit agent install -----------------------------------
$Unit = {{ unit|ps }}
$Mode = {{ mode|ps }}
$CollectorUrl = {{ endpoint|ps }}
$CertSha256 = {{ cert_sha256|ps }}      # the collector's certificate (SHA-256 of its DER bytes)
$ShareFolder = {{ share|ps }}
$QueueLimit = {{ queue_limit }}
# ---------------------------------------------------------------------------------

$DataDir = Join-Path $env:ProgramData 'itaudit'
$QueueDir = Join-Path $DataDir 'queue'
$LogFile = Join-Path $DataDir 'last-run.log'
$Log = @()

function Write-RunLog([string]$Line) {
    $stamp = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    $script:Log += ($stamp + ' ' + $Line)
    Write-Host ('itaudit: ' + $Line)
}

function Get-Sha256Hex([byte[]]$Bytes) {
    $sha = [Security.Cryptography.SHA256]::Create()
    try { ($sha.ComputeHash($Bytes) | ForEach-Object { $_.ToString('x2') }) -join '' } finally { $sha.Dispose() }
}

function Send-Bundle([string]$Path, [string]$Secret) {
    # The collector's certificate is self-signed: trust exactly that certificate
    # (pinned by its SHA-256), never the machine's certificate authorities.
    [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
    [Net.ServicePointManager]::ServerCertificateValidationCallback = {
        param($Sender, $Certificate, $Chain, $Errors)
        (Get-Sha256Hex $Certificate.GetRawCertData()) -eq $CertSha256
    }
    $headers = @{ Authorization = ('Bearer ' + $Secret) }
    try {
        $reply = Invoke-WebRequest -Uri $CollectorUrl -Method Post -InFile $Path -ContentType 'application/zip' -Headers $headers -UseBasicParsing -TimeoutSec 120
        return @{ Code = [int]$reply.StatusCode; Text = [string]$reply.Content }
    } catch [Net.WebException] {
        $response = $_.Exception.Response
        if ($null -eq $response) { return @{ Code = 0; Text = $_.Exception.Message } }
        return @{ Code = [int]$response.StatusCode; Text = $_.Exception.Message }
    }
}

Write-RunLog ('unit ' + $Unit + ', mode ' + $Mode + ', language mode ' + [string]$ExecutionContext.SessionState.LanguageMode)
New-Item -ItemType Directory -Force -Path $QueueDir | Out-Null

# -- collect ---------------------------------------------------------------------------
$stampName = (Get-Date).ToUniversalTime().ToString('yyyyMMddTHHmmssZ')
$bundle = Join-Path $QueueDir ($env:COMPUTERNAME + '-' + $stampName)
try {
    & (Join-Path $PSScriptRoot 'collect.ps1') -OutDir $bundle
    Write-RunLog ('collected ' + $bundle + '.zip')
} catch {
    Write-RunLog ('the collector failed: ' + $_.Exception.Message)
}
if (Test-Path -LiteralPath $bundle) {
    # The folder is also in the .zip; a blocked run leaves only the folder with its
    # self-check line, which is zipped by hand here so the officer still receives it.
    if (-not (Test-Path -LiteralPath ($bundle + '.zip'))) {
        Compress-Archive -Path (Join-Path $bundle '*') -DestinationPath ($bundle + '.zip') -Force
    }
    Remove-Item -LiteralPath $bundle -Recurse -Force
}

# -- bound the queue, oldest first ---------------------------------------------------
$queued = @(Get-ChildItem -LiteralPath $QueueDir -Filter '*.zip' | Sort-Object -Property Name)
if ($queued.Count -gt $QueueLimit) {
    $drop = $queued.Count - $QueueLimit
    foreach ($old in @($queued | Select-Object -First $drop)) {
        Remove-Item -LiteralPath $old.FullName -Force
        Write-RunLog ('queue full: dropped the oldest bundle ' + $old.Name)
    }
    $queued = @(Get-ChildItem -LiteralPath $QueueDir -Filter '*.zip' | Sort-Object -Property Name)
}

# -- send ----------------------------------------------------------------------------
if ($Mode -eq 'share') {
    foreach ($item in $queued) {
        try {
            Copy-Item -LiteralPath $item.FullName -Destination (Join-Path $ShareFolder $item.Name) -Force
            Remove-Item -LiteralPath $item.FullName -Force
            Write-RunLog ('copied ' + $item.Name + ' to ' + $ShareFolder)
        } catch {
            Write-RunLog ('cannot write to ' + $ShareFolder + ' (' + $_.Exception.Message + '); kept in the queue')
            break
        }
    }
} else {
    $secretFile = Join-Path $DataDir 'enrolment-secret.txt'
    $secret = ''
    if (Test-Path -LiteralPath $secretFile) { $secret = (Get-Content -LiteralPath $secretFile -Raw).Trim() }
    foreach ($item in $queued) {
        try {
            $result = Send-Bundle $item.FullName $secret
        } catch {
            # Constrained Language mode refuses the certificate check above.
            $result = @{ Code = 0; Text = $_.Exception.Message }
        }
        if ($result.Code -in @(200, 201)) {
            Remove-Item -LiteralPath $item.FullName -Force
            Write-RunLog ('sent ' + $item.Name + ' (HTTP ' + $result.Code + ')')
        } elseif ($result.Code -in @(403, 413, 422)) {
            # Refused for good (revoked, another key, a bad bundle): sending it again would not help.
            Remove-Item -LiteralPath $item.FullName -Force
            Write-RunLog ('the collector refused ' + $item.Name + ' (HTTP ' + $result.Code + '): ' + $result.Text)
        } else {
            Write-RunLog ('not sent (HTTP ' + $result.Code + ': ' + $result.Text + '); ' + $queued.Count + ' bundle(s) wait in the queue')
            break
        }
    }
}
Set-Content -LiteralPath $LogFile -Value $Log -Encoding UTF8
