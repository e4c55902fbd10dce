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
builder.AddProblemResponses();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultSecurity();
app.UseRateLimiter();

app.MapDefaultEndpoints();
if (app.Environment.IsDevelopment())
{
    // The API's description, open to whoever can reach a developer's service (as the ASP.NET Core templates do);
    // not mapped elsewhere. The API reference asks for a bearer token first (the "Operator token" command gives one).
    app.MapOpenApi().AllowAnonymous();
    app.MapScalarApiReference(options => options.AddPreferredSecuritySchemes([BearerSecurityTransformer.JwtScheme]).EnablePersistentAuthentication())
        .AllowAnonymous();
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
