// The tests start servers from Debian packages: they run on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
