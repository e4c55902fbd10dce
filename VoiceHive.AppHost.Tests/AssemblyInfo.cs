// The tests start the Debian packages' servers through the AppHost: they run on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
