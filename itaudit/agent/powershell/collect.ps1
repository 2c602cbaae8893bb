#Requires -Version 5.1
<#
.SYNOPSIS
    itaudit zero-install collector for Windows (Windows PowerShell 5.1, no modules to install).

.DESCRIPTION
    Reads this computer's configuration and writes a *bundle*: a folder with one
    file per source (registry key, CIM class, cmdlet output), named by source,
    and manifest.json saying what was read, when, and with what status. It also
    writes a .zip of that folder. `itaudit agent parse BUNDLE` turns the bundle
    into a HostReport on the IT officer's machine.

    It only reads: nothing on this computer is changed, except the output
    folder it creates (and the temporary export of `secedit`, deleted at
    once) and, on its first run, its own signing key "itaudit-collector" in
    the machine key store (as administrator) or the user's. Run it as an ordinary user (it records what it could not see) or
    as an administrator (BitLocker, password complexity and a few more facts).

    Structured sources are preferred everywhere; no localised text is parsed.
    The raw-text sources are `netsh wlan show profiles` (Wi-Fi profiles have
    no structured source a user may read), whose layout itaudit parses, not
    its words; and the `secedit /export` security policy, whose INF keys are
    not translated.

.PARAMETER OutDir
    Bundle folder. Default: itaudit-bundles\<COMPUTER>-<UTC time> beside this script.

.PARAMETER NoZip
    Do not write the .zip beside the folder.

.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File E:\itaudit-collect.ps1
#>
[CmdletBinding()]
param(
    [string]$OutDir,
    [switch]$NoZip
)

Set-StrictMode -Version 1
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# -- self-check (blocked by policy) ------- begin; owned by `itaudit agent install` ------
# An AppLocker or WDAC script policy that does not allow this script makes Windows
# PowerShell run it in Constrained Language mode, where the .NET calls below fail.
# Then write one line into the bundle folder (selfcheck.txt, no manifest) and stop:
# `agent parse` and the collector show "blocked by policy" instead of nothing.
# Only cmdlets and core types here: they work in that mode.
$LanguageMode = [string]$ExecutionContext.SessionState.LanguageMode
if ($LanguageMode -ne 'FullLanguage') {
    if (-not $OutDir) {
        $checkBase = (Get-Location).Path
        if ($PSScriptRoot) { $checkBase = $PSScriptRoot }
        $OutDir = Join-Path $checkBase ('itaudit-bundles\' + $env:COMPUTERNAME + '-' + [DateTime]::UtcNow.ToString('yyyyMMddTHHmmssZ') + '-blocked')
    }
    New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
    $checkLine = 'itaudit-selfcheck/1 status=blocked host=' + $env:COMPUTERNAME + ' language_mode=' + $LanguageMode + ' cause=script policy (AppLocker or WDAC); allow the script by a path rule or sign it (docs/agent.md)'
    New-Item -ItemType File -Force -Path (Join-Path $OutDir 'selfcheck.txt') -Value $checkLine | Out-Null
    Write-Host ('itaudit: blocked by policy (' + $LanguageMode + ' mode): nothing collected; see ' + (Join-Path $OutDir 'selfcheck.txt'))
    exit 3
}
# -- self-check --------------------------- end -------------------------------------------

$CollectorVersion = '1'
$Invariant = [Globalization.CultureInfo]::InvariantCulture
$Clock = [Diagnostics.Stopwatch]::StartNew()
$UtcNow = [DateTime]::UtcNow
$HostName = $env:COMPUTERNAME
if (-not $OutDir) {
    $base = if ($PSScriptRoot) { $PSScriptRoot } else { (Get-Location).Path }
    $OutDir = Join-Path $base ('itaudit-bundles\' + $HostName + '-' + $UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", $Invariant))
}
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$OutDir = (Resolve-Path -LiteralPath $OutDir).Path
$Utf8 = New-Object System.Text.UTF8Encoding($false)
$Sources = [ordered]@{}

# -- writing ------------------------------------------------------------------

function Show-Step([string]$What) {
    # Progress for whoever runs it from a USB stick: the slow parts take tens of seconds.
    Write-Host ('itaudit: ' + $What + '...')
}

function Write-SourceFile([string]$FileName, [string]$Content) {
    $bytes = $Utf8.GetBytes($Content)
    [IO.File]::WriteAllBytes((Join-Path $OutDir $FileName), $bytes)
    $sha = [Security.Cryptography.SHA256]::Create()
    try { ($sha.ComputeHash($bytes) | ForEach-Object { $_.ToString('x2') }) -join '' } finally { $sha.Dispose() }
}

function Get-ErrorStatus($ErrorRecord) {
    # Decide from exception types and error codes, never from the (localised) message.
    $ex = $ErrorRecord.Exception
    $code = $null
    if ([string]$ErrorRecord.FullyQualifiedErrorId -match '0x[0-9A-Fa-f]{8}') { $code = $Matches[0] }
    elseif ($ex.HResult) { $code = '0x{0:X8}' -f $ex.HResult }
    $status = 'failed'
    $e = $ex
    while ($null -ne $e) {
        if ($e -is [UnauthorizedAccessException] -or $e -is [Security.SecurityException]) { $status = 'denied'; break }
        if ($e -is [Management.Automation.ItemNotFoundException] -or $e -is [Management.Automation.CommandNotFoundException]) { $status = 'absent'; break }
        if ($e.GetType().FullName -eq 'Microsoft.Management.Infrastructure.CimException') {
            switch ([int]$e.NativeErrorCode) { 2 { $status = 'denied' } 3 { $status = 'absent' } 5 { $status = 'absent' } }
            break
        }
        $e = $e.InnerException
    }
    if ($code -in @('0x80041003', '0x80070005')) { $status = 'denied' }        # WBEM_E_ACCESS_DENIED, E_ACCESSDENIED
    if ($code -in @('0x8004100E', '0x80041010')) { $status = 'absent' }        # invalid namespace, invalid class
    $msg = ([string]$ex.Message -replace '\s+', ' ').Trim()
    if ($msg.Length -gt 400) { $msg = $msg.Substring(0, 400) }
    @{ Status = $status; Message = $msg; Code = $code }
}

function Save-Source {
    param(
        [Parameter(Mandatory)] [string]$Name,
        [Parameter(Mandatory)] [string]$Kind,
        [Parameter(Mandatory)] [string]$Target,
        [Parameter(Mandatory)] [scriptblock]$Read,
        [object[]]$Arguments = @(),
        [switch]$List,
        [switch]$Text
    )
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $entry = [ordered]@{ kind = $Kind; target = $Target; status = 'ok' }
    try {
        if ($Text) {
            $content = (& $Read @Arguments | Out-String)
            $file = "$Name.txt"
        } else {
            # A list source is always written as a JSON array: [] when empty, [{...}] with one item.
            # The assignment sits inside each branch on purpose: an `if` used as an expression
            # ($value = if (...) { @(...) }) sends its result down the pipeline, which unrolls the
            # array (one item becomes that item, none becomes $null). Assigning @(...) directly
            # keeps the array, and -InputObject (not the pipeline) hands it to ConvertTo-Json whole.
            if ($List) {
                $value = @(& $Read @Arguments)
            } else {
                $value = & $Read @Arguments
            }
            $content = ConvertTo-Json -InputObject $value -Depth 8 -Compress
            if ($null -eq $content) { $content = 'null' }
            $file = "$Name.json"
        }
        $entry.file = $file
        $entry.sha256 = Write-SourceFile $file $content
    } catch {
        $st = Get-ErrorStatus $_
        $entry.status = $st.Status
        $entry.message = $st.Message
        if ($st.Code) { $entry.error_code = $st.Code }
    }
    $entry.duration_ms = [int]$watch.ElapsedMilliseconds
    $Sources[$Name] = $entry
}

# -- reading --------------------------------------------------------------------

function Read-RegistryValues([string]$Path, [string[]]$Names) {
    $key = Get-Item -LiteralPath $Path -ErrorAction Stop
    $out = [ordered]@{}
    foreach ($n in $key.GetValueNames()) {
        if (-not $n) { continue }
        if ($Names -and ($Names -notcontains $n)) { continue }
        $v = $key.GetValue($n, $null, 'DoNotExpandEnvironmentNames')
        if ($v -is [byte[]]) { $v = [int[]]$v }
        $out[$n] = $v
    }
    [pscustomobject]$out
}

function Read-RegistryTree([string]$Path, [string[]]$Names) {
    $null = Get-Item -LiteralPath $Path -ErrorAction Stop
    $out = [ordered]@{}
    foreach ($sub in @(Get-ChildItem -LiteralPath $Path -ErrorAction Stop)) {
        try { $out[$sub.PSChildName] = Read-RegistryValues $sub.PSPath $Names } catch { }
    }
    [pscustomobject]$out
}

function Save-Registry([string]$Name, [string]$Path, [string[]]$Names) {
    Save-Source -Name $Name -Kind 'registry' -Target $Path -Arguments @($Path, $Names) -Read {
        param($KeyPath, $ValueNames) Read-RegistryValues $KeyPath $ValueNames
    }
}

function Save-RegistryTree([string]$Name, [string]$Path, [string[]]$Names) {
    Save-Source -Name $Name -Kind 'registry-tree' -Target $Path -Arguments @($Path, $Names) -Read {
        param($KeyPath, $ValueNames) Read-RegistryTree $KeyPath $ValueNames
    }
}

function Save-Cim([string]$Name, [string]$Namespace, [string]$Class, [string[]]$Properties, [string]$Filter) {
    Save-Source -Name $Name -Kind 'cim' -Target "${Namespace}:${Class}" -List -Arguments @($Namespace, $Class, $Properties, $Filter) -Read {
        param($Ns, $Cls, $Props, $Where)
        $query = @{ Namespace = $Ns; ClassName = $Cls; ErrorAction = 'Stop' }
        if ($Where) { $query.Filter = $Where }
        Get-CimInstance @query | Select-Object -Property $Props
    }
}

function Save-PowerShell([string]$Name, [string]$Command, [scriptblock]$Read, [switch]$List) {
    Save-Source -Name $Name -Kind 'powershell' -Target $Command -Read $Read -List:$List
}

$IsAdmin = ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole(
    [Security.Principal.WindowsBuiltInRole]::Administrator)

# -- os -------------------------------------------------------------------------
Show-Step 'operating system'
Save-Registry 'reg-currentversion' 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' @(
    'ProductName', 'EditionID', 'CurrentBuild', 'CurrentBuildNumber', 'UBR', 'DisplayVersion',
    'ReleaseId', 'InstallationType', 'InstallDate', 'CurrentMajorVersionNumber', 'CurrentMinorVersionNumber')
Save-Cim 'cim-os' 'root/cimv2' 'Win32_OperatingSystem' @(
    'Caption', 'Version', 'BuildNumber', 'OSArchitecture', 'MUILanguages', 'OSLanguage', 'ProductType',
    'InstallDate', 'LastBootUpTime', 'CSName')

# -- hardware -------------------------------------------------------------------
Show-Step 'hardware'
Save-Cim 'cim-computersystem' 'root/cimv2' 'Win32_ComputerSystem' @(
    'Name', 'DNSHostName', 'Domain', 'PartOfDomain', 'Workgroup', 'Manufacturer', 'Model',
    'TotalPhysicalMemory', 'PCSystemType', 'HypervisorPresent', 'DomainRole')
Save-Cim 'cim-bios' 'root/cimv2' 'Win32_BIOS' @('SerialNumber', 'Manufacturer', 'SMBIOSBIOSVersion')
Save-Cim 'cim-computersystemproduct' 'root/cimv2' 'Win32_ComputerSystemProduct' @('UUID', 'IdentifyingNumber', 'Vendor', 'Name')
Save-Cim 'cim-systemenclosure' 'root/cimv2' 'Win32_SystemEnclosure' @('ChassisTypes', 'SerialNumber', 'SMBIOSAssetTag')
Save-Cim 'cim-processor' 'root/cimv2' 'Win32_Processor' @('Name', 'NumberOfCores', 'NumberOfLogicalProcessors')
Save-Cim 'cim-physicaldisk' 'root/Microsoft/Windows/Storage' 'MSFT_PhysicalDisk' @('FriendlyName', 'Size', 'MediaType', 'BusType', 'DeviceId')

# -- network --------------------------------------------------------------------
Show-Step 'network'
# Property lists are @(...) arrays in variables: the form both PowerShell and the tree-sitter
# grammar the test suite parses this script with accept (a bare `-Property A, B` list is a gap
# of that grammar).
$AdapterProperties = @(
    'Name', 'InterfaceDescription', 'ifIndex', 'MacAddress', 'PermanentAddress', 'MediaConnectState',
    'InterfaceOperationalStatus', 'NdisPhysicalMedium', 'InterfaceType', 'Virtual', 'HardwareInterface',
    'ConnectorPresent', 'ReceiveLinkSpeed')
Save-PowerShell 'net-adapters' 'Get-NetAdapter' -List {
    Get-NetAdapter | Select-Object -Property $AdapterProperties
}
Save-PowerShell 'net-ipconfiguration' 'Get-NetIPConfiguration -All -Detailed' -List {
    Get-NetIPConfiguration -All -Detailed | ForEach-Object {
        $cfg = $_
        [pscustomobject]@{
            InterfaceAlias       = $cfg.InterfaceAlias
            InterfaceIndex       = $cfg.InterfaceIndex
            InterfaceDescription = $cfg.InterfaceDescription
            NetProfileName       = if ($cfg.NetProfile) { $cfg.NetProfile.Name } else { $null }
            NetworkCategory      = if ($cfg.NetProfile) { [int]$cfg.NetProfile.NetworkCategory } else { $null }
            IPv4Address          = @($cfg.IPv4Address | Where-Object { $_ } | ForEach-Object {
                    [pscustomobject]@{ IPAddress = $_.IPAddress; PrefixLength = [int]$_.PrefixLength; PrefixOrigin = [int]$_.PrefixOrigin } })
            IPv6Address          = @(@($cfg.IPv6Address) + @($cfg.IPv6LinkLocalAddress) | Where-Object { $_ } | ForEach-Object {
                    [pscustomobject]@{ IPAddress = $_.IPAddress; PrefixLength = [int]$_.PrefixLength; PrefixOrigin = [int]$_.PrefixOrigin } })
            IPv4DefaultGateway   = @($cfg.IPv4DefaultGateway | Where-Object { $_ } | ForEach-Object { $_.NextHop })
            IPv6DefaultGateway   = @($cfg.IPv6DefaultGateway | Where-Object { $_ } | ForEach-Object { $_.NextHop })
            DNSServer            = @($cfg.DNSServer | Where-Object { $_ } | ForEach-Object { $_.ServerAddresses })
            Dhcp                 = if ($cfg.NetIPv4Interface) { [int]$cfg.NetIPv4Interface.Dhcp } else { $null }
        }
    }
}
Save-RegistryTree 'reg-networklist-profiles' 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\NetworkList\Profiles' @(
    'ProfileName', 'Description', 'Managed', 'Category', 'DateCreated', 'DateLastConnected', 'NameType')
Save-Source -Name 'netsh-wlan-profiles' -Kind 'command' -Target 'netsh wlan show profiles' -Text -Read {
    $out = & netsh.exe wlan show profiles
    if ($LASTEXITCODE -ne 0) { throw (($out | Out-String).Trim()) }
    $out
}

# -- security -------------------------------------------------------------------
Show-Step 'security settings and anti-malware'
Save-Cim 'cim-antivirusproduct' 'root/SecurityCenter2' 'AntiVirusProduct' @(
    'displayName', 'instanceGuid', 'pathToSignedProductExe', 'pathToSignedReportingExe', 'productState', 'timestamp')
$DefenderProperties = @(
    'AMRunningMode', 'AMServiceEnabled', 'AntivirusEnabled', 'RealTimeProtectionEnabled',
    'AntivirusSignatureLastUpdated', 'AntivirusSignatureVersion', 'AntivirusSignatureAge',
    'DefenderSignaturesOutOfDate', 'AMProductVersion', 'IsTamperProtected', 'ComputerState',
    'BehaviorMonitorEnabled', 'IoavProtectionEnabled', 'OnAccessProtectionEnabled')
Save-PowerShell 'mp-computerstatus' 'Get-MpComputerStatus' {
    Get-MpComputerStatus | Select-Object -Property $DefenderProperties
}
# PUA protection and script / removable-drive scanning are preferences, not status: numbers and
# booleans of MSFT_MpPreference, readable without administrator rights (exclusions are not read).
$DefenderPreferences = @(
    'PUAProtection', 'DisableScriptScanning', 'DisableRemovableDriveScanning', 'DisableBehaviorMonitoring',
    'DisableRealtimeMonitoring', 'DisableIOAVProtection')
Save-PowerShell 'mp-preference' 'Get-MpPreference' {
    Get-MpPreference | Select-Object -Property $DefenderPreferences
}
$ServiceProperties = @('Name', 'DisplayName', 'State', 'StartMode')
Save-Source -Name 'services' -Kind 'services' -Target 'root/cimv2:Win32_Service' -List -Read {
    Get-CimInstance -ClassName Win32_Service | Select-Object -Property $ServiceProperties
}
$ProcessProperties = @('Name', 'ProcessId')
Save-Source -Name 'processes' -Kind 'processes' -Target 'root/cimv2:Win32_Process' -List -Read {
    Get-CimInstance -ClassName Win32_Process | Select-Object -Property $ProcessProperties
}
$FirewallProperties = @('Name', 'Enabled', 'DefaultInboundAction', 'DefaultOutboundAction')
Save-PowerShell 'fw-profiles' 'Get-NetFirewallProfile -PolicyStore ActiveStore' -List {
    Get-NetFirewallProfile -PolicyStore ActiveStore | Select-Object -Property $FirewallProperties
}
$BitLockerProperties = @(
    'MountPoint', 'VolumeType', 'ProtectionStatus', 'VolumeStatus', 'EncryptionMethod', 'EncryptionPercentage')
Save-PowerShell 'bitlocker' 'Get-BitLockerVolume' -List {
    Get-BitLockerVolume | Select-Object -Property $BitLockerProperties
}
Save-PowerShell 'local-admins' 'Get-LocalGroupMember -SID S-1-5-32-544' -List {
    Get-LocalGroupMember -SID 'S-1-5-32-544' | ForEach-Object {
        [pscustomobject]@{ Name = $_.Name; SID = [string]$_.SID; ObjectClass = $_.ObjectClass; PrincipalSource = [int]$_.PrincipalSource }
    }
}
# Get-LocalGroupMember fails on orphaned SIDs: the CIM association is the fallback.
Save-PowerShell 'local-admins-cim' 'Win32_Group S-1-5-32-544 -> Win32_GroupUser' -List {
    $group = Get-CimInstance -ClassName Win32_Group -Filter "LocalAccount=TRUE AND SID='S-1-5-32-544'"
    Get-CimAssociatedInstance -InputObject $group -Association Win32_GroupUser | ForEach-Object {
        [pscustomobject]@{ Class = $_.CimClass.CimClassName; Name = $_.Name; Domain = $_.Domain; SID = $_.SID; LocalAccount = $_.LocalAccount }
    }
}
Save-Cim 'cim-useraccounts' 'root/cimv2' 'Win32_UserAccount' @('Name', 'SID', 'Disabled', 'LocalAccount', 'PasswordRequired') "LocalAccount=TRUE"
# Local accounts with their last logon and password flags (Get-LocalUser reads the local SAM; no
# administrator rights needed). Dates are written as UTC ISO 8601, culture-independent.
Save-PowerShell 'local-users' 'Get-LocalUser' -List {
    Get-LocalUser | ForEach-Object {
        $lastLogon = $null
        $passwordSet = $null
        if ($_.LastLogon) { $lastLogon = $_.LastLogon.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant) }
        if ($_.PasswordLastSet) { $passwordSet = $_.PasswordLastSet.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant) }
        [pscustomobject]@{
            Name = $_.Name; SID = [string]$_.SID; Enabled = [bool]$_.Enabled
            PasswordRequired = [bool]$_.PasswordRequired; LastLogon = $lastLogon; PasswordLastSet = $passwordSet
        }
    }
}
Save-PowerShell 'netusermodals' 'NetUserModalsGet levels 0 and 3' {
    if (-not ('ItauditNetApi' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
public static class ItauditNetApi {
    [DllImport("netapi32.dll", CharSet = CharSet.Unicode)]
    public static extern int NetUserModalsGet(string server, int level, out IntPtr buffer);
    [DllImport("netapi32.dll")]
    public static extern int NetApiBufferFree(IntPtr buffer);
    public static uint[] Read(int level, int count) {
        IntPtr buf;
        int rc = NetUserModalsGet(null, level, out buf);
        if (rc != 0) { throw new System.ComponentModel.Win32Exception(rc); }
        try {
            uint[] values = new uint[count];
            for (int i = 0; i < count; i++) { values[i] = (uint)Marshal.ReadInt32(buf, i * 4); }
            return values;
        } finally { NetApiBufferFree(buf); }
    }
}
'@
    }
    $l0 = [ItauditNetApi]::Read(0, 5)   # min_passwd_len, max_passwd_age, min_passwd_age, force_logoff, password_hist_len
    $l3 = [ItauditNetApi]::Read(3, 3)   # lockout_duration, lockout_observation_window, lockout_threshold
    [pscustomobject]@{
        MinPasswordLength = $l0[0]; MaxPasswordAgeSeconds = $l0[1]; MinPasswordAgeSeconds = $l0[2]
        ForceLogoffSeconds = $l0[3]; PasswordHistoryLength = $l0[4]
        LockoutDurationSeconds = $l3[0]; LockoutObservationWindowSeconds = $l3[1]; LockoutThreshold = $l3[2]
    }
}
# Password complexity is not in NetUserModalsGet: it lives in the security policy database, which
# `secedit /export` writes as an INF file whose keys (PasswordComplexity, LockoutBadCount...) are
# the same in every display language. Reading it needs administrator rights: without them the
# source is recorded as denied and secedit is not run. The export and secedit's log are this
# script's own temporary files, deleted at once; nothing else is written.
Save-Source -Name 'secedit-securitypolicy' -Kind 'command' -Target 'secedit /export /areas SECURITYPOLICY' -Text -Read {
    if (-not $IsAdmin) {
        throw [UnauthorizedAccessException]::new('secedit /export needs administrator rights')
    }
    $stem = Join-Path ([IO.Path]::GetTempPath()) ('itaudit-secedit-' + [guid]::NewGuid().ToString('N'))
    $cfg = $stem + '.inf'
    $log = $stem + '.log'
    try {
        $out = & secedit.exe /export /cfg $cfg /areas SECURITYPOLICY /log $log /quiet
        if ($LASTEXITCODE -ne 0) { throw ('secedit exit code ' + $LASTEXITCODE + ': ' + ($out | Out-String).Trim()) }
        # The export is UTF-16 ([Unicode] Unicode=yes); the bundle keeps its lines as UTF-8 text.
        Get-Content -LiteralPath $cfg -Encoding Unicode
    } finally {
        Remove-Item -LiteralPath @($cfg, $log) -Force -ErrorAction SilentlyContinue
    }
}
Save-Registry 'reg-desktop' 'HKCU:\Control Panel\Desktop' @('ScreenSaveActive', 'ScreenSaveTimeOut', 'ScreenSaverIsSecure', 'SCRNSAVE.EXE')
Save-Registry 'reg-desktop-policy' 'HKCU:\Software\Policies\Microsoft\Windows\Control Panel\Desktop' @('ScreenSaveActive', 'ScreenSaveTimeOut', 'ScreenSaverIsSecure', 'SCRNSAVE.EXE')
Save-Registry 'reg-system-policy' 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' @(
    'InactivityTimeoutSecs', 'EnableLUA', 'ConsentPromptBehaviorAdmin', 'PromptOnSecureDesktop')
Save-Registry 'reg-terminal-server' 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server' @('fDenyTSConnections')
Save-Registry 'reg-rdp-tcp' 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' @('UserAuthentication', 'PortNumber', 'SecurityLayer')
Save-Registry 'reg-ts-policy' 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' @('fDenyTSConnections', 'UserAuthentication')
Save-Registry 'reg-lanmanserver' 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters' @('SMB1', 'SMB2')
Save-Registry 'reg-svc-srv' 'HKLM:\SYSTEM\CurrentControlSet\Services\srv' @('Start')
Save-Registry 'reg-svc-mrxsmb10' 'HKLM:\SYSTEM\CurrentControlSet\Services\mrxsmb10' @('Start')
Save-Registry 'reg-explorer-policy-hklm' 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer' @('NoDriveTypeAutoRun', 'NoAutorun')
Save-Registry 'reg-explorer-policy-hkcu' 'HKCU:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer' @('NoDriveTypeAutoRun', 'NoAutorun')
Save-Registry 'reg-w32time-params' 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters' @('Type', 'NtpServer')
# Name resolution by broadcast: LLMNR policy, NetBIOS over TCP/IP per adapter (NetbiosOptions:
# 0 from DHCP, 1 on, 2 off) and the NetBT node type (2 = P-node, no broadcasts).
Save-Registry 'reg-dnsclient-policy' 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient' @('EnableMulticast')
Save-Registry 'reg-netbt-params' 'HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters' @('NodeType', 'DhcpNodeType')
Save-RegistryTree 'reg-netbt-interfaces' 'HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters\Interfaces' @('NetbiosOptions')
# USB storage: the driver's start value (4 = disabled), the removable-storage deny policies (all
# classes, and the removable-disk class GUID), and the devices Windows has seen (Enum\USBSTOR
# subkey names: vendor, product and revision of each USB disk ever plugged in).
Save-Registry 'reg-svc-usbstor' 'HKLM:\SYSTEM\CurrentControlSet\Services\USBSTOR' @('Start')
Save-Registry 'reg-removable-storage-policy' 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices' @('Deny_All')
Save-RegistryTree 'reg-removable-storage-classes' 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices' @('Deny_Read', 'Deny_Write', 'Deny_Execute')
Save-RegistryTree 'reg-enum-usbstor' 'HKLM:\SYSTEM\CurrentControlSet\Enum\USBSTOR' @('FriendlyName')

# -- patches --------------------------------------------------------------------
Show-Step 'Windows Update history'
Save-PowerShell 'wu-history' 'Microsoft.Update.Session QueryHistory' -List {
    $session = New-Object -ComObject Microsoft.Update.Session
    $searcher = $session.CreateUpdateSearcher()
    $count = $searcher.GetTotalHistoryCount()
    if ($count -gt 0) {
        $searcher.QueryHistory(0, [Math]::Min($count, 1000)) | ForEach-Object {
            [pscustomobject]@{
                Title      = $_.Title
                # WUA reports the date in UTC; written as ISO 8601, culture-independent.
                Date       = ([DateTime]::SpecifyKind($_.Date, 'Utc')).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant)
                ResultCode = [int]$_.ResultCode
                Operation  = [int]$_.Operation
                UpdateID   = $_.UpdateIdentity.UpdateID
            }
        }
    }
}
Save-Cim 'cim-qfe' 'root/cimv2' 'Win32_QuickFixEngineering' @('HotFixID', 'Description', 'InstalledOn')
Save-Registry 'reg-wu-rebootrequired' 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired' @()
Save-Registry 'reg-cbs-rebootpending' 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending' @()
# The Windows Update policy (NoAutoUpdate, AUOptions, UseWUServer); the start modes of wuauserv,
# UsoSvc and WaaSMedicSvc come from the services source above.
Save-Registry 'reg-wu-au-policy' 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU' @('NoAutoUpdate', 'AUOptions', 'UseWUServer')

# -- software -------------------------------------------------------------------
Show-Step 'installed software'
$UninstallValues = @('DisplayName', 'DisplayVersion', 'Publisher', 'InstallDate', 'SystemComponent', 'ParentKeyName', 'ReleaseType')
Save-RegistryTree 'reg-uninstall-64' 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall' $UninstallValues
Save-RegistryTree 'reg-uninstall-32' 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall' $UninstallValues
Save-RegistryTree 'reg-uninstall-user' 'HKCU:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall' $UninstallValues

# -- manifest -------------------------------------------------------------------
$manifest = [ordered]@{
    format             = 'itaudit-bundle/1'
    platform           = 'windows'
    collector          = 'powershell'
    collector_version  = $CollectorVersion
    collected_at       = $UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant)
    elevated           = [bool]$IsAdmin
    hostname           = $HostName
    ui_language        = (Get-UICulture).Name
    utc_offset_minutes = [int][TimeZoneInfo]::Local.GetUtcOffset($UtcNow.ToLocalTime()).TotalMinutes
    powershell_version = $PSVersionTable.PSVersion.ToString()
    duration_ms        = [int]$Clock.ElapsedMilliseconds
    sources            = $Sources
}
[IO.File]::WriteAllText((Join-Path $OutDir 'manifest.json'), (ConvertTo-Json -InputObject $manifest -Depth 6), $Utf8)

# -- signing ---------------------------------------------------------------------
# Signs the bundle (docs/agent.md, "Signed bundles"): ECDSA P-256 / SHA-256, the
# signature as IEEE P1363 r||s, over a statement naming the host, the collection
# time, the key store and the SHA-256 of every file written above (manifest.json
# included, so each source's status and hash is covered too). Written last, as
# signature.json, before the zip. The key is a persisted CNG key created on first
# use and never exported: in the machine key store when run as administrator or
# SYSTEM, in this user's store otherwise. When it cannot sign (no CNG, no user
# profile for the user store), the bundle stays unsigned, as before, and says why.
$SignatureFile = 'signature.json'
$SigningKeyName = 'itaudit-collector'
$KeyStore = 'user'
$KeyOptions = 'None'
if ($IsAdmin) {
    $KeyStore = 'machine'
    $KeyOptions = 'MachineKey'
}
try {
    $KeyProvider = [Security.Cryptography.CngProvider]::MicrosoftSoftwareKeyStorageProvider
    if ([Security.Cryptography.CngKey]::Exists($SigningKeyName, $KeyProvider, $KeyOptions)) {
        $SigningKey = [Security.Cryptography.CngKey]::Open($SigningKeyName, $KeyProvider, $KeyOptions)
    } else {
        $KeyParameters = [Security.Cryptography.CngKeyCreationParameters]::new()
        $KeyParameters.Provider = $KeyProvider
        $KeyParameters.KeyCreationOptions = $KeyOptions
        $KeyParameters.ExportPolicy = 'None'
        $SigningKey = [Security.Cryptography.CngKey]::Create([Security.Cryptography.CngAlgorithm]::ECDsaP256, $SigningKeyName, $KeyParameters)
    }
    # Every file of the folder but the signature, in ordinal order of the names.
    [string[]]$SignedNames = @(Get-ChildItem -LiteralPath $OutDir -File | ForEach-Object { $_.Name } | Where-Object { $_ -ne $SignatureFile })
    [Array]::Sort($SignedNames, [StringComparer]::Ordinal)
    $StatementLines = @(
        'itaudit-bundle-statement/1',
        ('hostname ' + $HostName),
        ('collected_at ' + $manifest.collected_at),
        'platform windows',
        ('key_store ' + $KeyStore))
    $FileHasher = [Security.Cryptography.SHA256]::Create()
    try {
        foreach ($SignedName in $SignedNames) {
            $FileBytes = [IO.File]::ReadAllBytes((Join-Path $OutDir $SignedName))
            $FileDigest = ($FileHasher.ComputeHash($FileBytes) | ForEach-Object { $_.ToString('x2') }) -join ''
            $StatementLines += ('file ' + $FileDigest + ' ' + $SignedName)
        }
    } finally { $FileHasher.Dispose() }
    $Statement = ($StatementLines -join "`n") + "`n"
    $Signer = [Security.Cryptography.ECDsaCng]::new($SigningKey)
    try {
        $Signer.HashAlgorithm = [Security.Cryptography.CngAlgorithm]::Sha256
        $SignatureBytes = $Signer.SignData($Utf8.GetBytes($Statement))
    } finally { $Signer.Dispose() }
    $PublicBlob = $SigningKey.Export([Security.Cryptography.CngKeyBlobFormat]::EccPublicBlob)
    $SigningKey.Dispose()
    $SignatureDocument = [ordered]@{
        format     = 'itaudit-bundle-signature/1'
        algorithm  = 'ecdsa-p256-sha256'
        key_store  = $KeyStore
        public_key = [Convert]::ToBase64String($PublicBlob)
        statement  = $Statement
        signature  = [Convert]::ToBase64String($SignatureBytes)
    }
    [IO.File]::WriteAllText((Join-Path $OutDir $SignatureFile), (ConvertTo-Json -InputObject $SignatureDocument), $Utf8)
    $SigningNote = 'itaudit: bundle signed with the key "' + $SigningKeyName + '" of the ' + $KeyStore + ' key store'
} catch {
    $SigningNote = 'itaudit: bundle NOT signed (' + $KeyStore + ' key store): ' + $_.Exception.Message
}
Write-Host $SigningNote
# -- end of signing ---------------------------------------------------------------

if (-not $NoZip) {
    Compress-Archive -Path (Join-Path $OutDir '*') -DestinationPath ($OutDir + '.zip') -Force
    Write-Host "itaudit: bundle written to $OutDir and $OutDir.zip"
} else {
    Write-Host "itaudit: bundle written to $OutDir"
}
