namespace VoiceHive.Tests.Infrastructure;

/// <summary>Tests that must not share the process with other service hosts: they run after the parallel ones, one at a time.</summary>
[CollectionDefinition(nameof(AloneCollection), DisableParallelization = true)]
public sealed class AloneCollection;
