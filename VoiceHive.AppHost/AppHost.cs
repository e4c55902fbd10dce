var builder = DistributedApplication.CreateBuilder(args);

var redis = builder.AddRedis("redis");

var postgres = builder.AddPostgres("postgres");
var database = postgres.AddDatabase("voicehivedb");

var orchestrator = builder.AddProject<Projects.VoiceHive_Orchestrator>("orchestrator")
    .WithReference(database)
    .WaitFor(database)
    .WithReference(redis)
    .WaitFor(redis)
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.VoiceHive_Worker>("worker")
    .WithReference(database)
    .WaitFor(database)
    .WithReference(redis)
    .WaitFor(redis)
    .WithHttpHealthCheck("/health");

builder.Build().Run();
