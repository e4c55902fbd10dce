// The runner starts Linux servers (PostgreSQL as the postgres user, signals, /proc): Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
