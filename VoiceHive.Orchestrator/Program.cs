using Scalar.AspNetCore;
using VoiceHive.Orchestrator.Alerts;
using VoiceHive.Orchestrator.Calls;
using VoiceHive.Orchestrator.Infrastructure;
using VoiceHive.Orchestrator.Monitoring;
using VoiceHive.Orchestrator.Pms;
using VoiceHive.Orchestrator.Sla;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDefaultAuthentication();
builder.AddApplicationServices();
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultSecurity();
app.UseRateLimiter();

app.MapDefaultEndpoints();
app.MapOpenApi();
if (app.Environment.IsDevelopment())
{
    // The API reference asks for a bearer token first (the dashboard's "Operator token" command gives one).
    app.MapScalarApiReference(options => options.AddPreferredSecuritySchemes([BearerSecurityTransformer.JwtScheme]).EnablePersistentAuthentication());
}

app.MapCallsApi();
app.MapAlertsApi();
app.MapSlaApi();
app.MapScrapeTargetsApi();
if (app.Environment.IsDevelopment() && app.Services.UsesPmsSimulator())
{
    app.MapPmsSimulatorApi();
}

app.Run();

public partial class Program;
