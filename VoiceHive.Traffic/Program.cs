using VoiceHive.Traffic;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDefaultAuthentication();
builder.AddTraffic();
builder.AddProblemResponses();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultSecurity();

app.MapDefaultEndpoints();
app.MapTrafficApi();

app.Run();

public partial class Program;
