extern alias orchestrator;

using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using VoiceHive.Tests.Infrastructure;
using OrchestratorDbContext = orchestrator::VoiceHive.Orchestrator.Infrastructure.OrchestratorDbContext;
using PmsSimulatorSettings = orchestrator::VoiceHive.Orchestrator.Pms.PmsSimulatorSettings;
using SimulatorProfile = orchestrator::VoiceHive.Orchestrator.Pms.SimulatorProfile;

namespace VoiceHive.Tests.Orchestrator;

public sealed class CallTransactionTests(SharedServers servers)
{
    /// <summary>
    /// A call's start and each turn save an entity inside a transaction the code opened; EF Core would wrap each save in a
    /// savepoint (two more round trips) unless the context turns that off. Two calls, so that the second leases contexts
    /// the pool has already reset once.
    /// </summary>
    [Fact]
    public async Task CallsAreStoredWithoutSavepoints()
    {
        var transactions = new TransactionCounter();
        await using var app = OrchestratorApplication.For(await servers.Postgres.CreateDatabaseAsync(), servers.Redis.ConnectionString);
        await using var counted = app.WithWebHostBuilder(builder => builder.ConfigureServices(services =>
            services.ConfigureDbContext<OrchestratorDbContext>(options => options.AddInterceptors(transactions))));
        counted.Services.GetRequiredService<PmsSimulatorSettings>().Set(null, new SimulatorProfile(0, 0, 0));
        using var client = counted.CreateClient();

        for (var i = 0; i < 2; i++)
        {
            var call = await client.StartCallAsync();
            await client.TurnAsync(call, "Hi, can you check my reservation GR1042?");
            await client.TurnAsync(call, "What time is check-out?");
            await client.EndAsync(call, "resolved");
        }

        // Per call: the start, two turns and the end, each in a transaction of its own.
        Assert.True(transactions.Started >= 8, $"the interceptor saw {transactions.Started} transactions start; it is not on the services' context");
        Assert.Equal(0, transactions.Savepoints);
    }

    private sealed class TransactionCounter : DbTransactionInterceptor
    {
        private int _started;
        private int _savepoints;

        public int Started => Volatile.Read(ref _started);

        public int Savepoints => Volatile.Read(ref _savepoints);

        public override ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result,
            CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _started);
            return ValueTask.FromResult(result);
        }

        public override ValueTask<InterceptionResult> CreatingSavepointAsync(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result,
            CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _savepoints);
            return ValueTask.FromResult(result);
        }
    }
}
