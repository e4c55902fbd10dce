using VoiceHive.Worker.Events;
using VoiceHive.Worker.Infrastructure;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDefaultAuthentication();
builder.AddApplicationServices();
builder.AddProblemResponses();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultSecurity();

app.MapDefaultEndpoints();
app.MapDeadLettersApi();

app.Run();

public partial class Program;
