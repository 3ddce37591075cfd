using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace CasGateway.EndToEnd.Health;

/// <summary>One gateway node as the balancer sees it: a pooled keep-alive client for traffic, and its probe state.</summary>
public sealed class BalancedNode(string name, HttpClient traffic, HttpClient probe) : IDisposable
{
    private int _served;
    private bool _up;

    public string Name { get; } = name;

    public HttpClient Traffic { get; } = traffic;

    public HttpClient Probe { get; } = probe;

    /// <summary>What the last probe said.</summary>
    public bool Up
    {
        get => Volatile.Read(ref _up);
        set => Volatile.Write(ref _up, value);
    }

    /// <summary>Requests this node answered successfully.</summary>
    public int Served => Volatile.Read(ref _served);

    public void CountServed() => Interlocked.Increment(ref _served);

    public void Dispose()
    {
        Traffic.Dispose();
        Probe.Dispose();
    }
}

/// <summary>
/// A client that balances as a plain round-robin balancer does: it probes every node's health page on its own
/// short-lived connections, and sends each request to the next node whose last probe said 200.
/// </summary>
public sealed class RoundRobinBalancer : IAsyncDisposable
{
    private readonly BalancedNode[] _nodes;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _probing;
    private int _next;

    public RoundRobinBalancer(IReadOnlyList<BalancedNode> nodes, string probePath, TimeSpan probeInterval)
    {
        _nodes = [.. nodes];
        _probing = [.. _nodes.Select(n => ProbeLoopAsync(n, probePath, probeInterval))];
    }

    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Every change a probe saw, with why: for figures and failure messages.</summary>
    public ConcurrentQueue<string> ProbeLog { get; } = new();

    /// <summary>Runs <paramref name="loops"/> request loops for <paramref name="duration"/>; returns how many requests were sent.</summary>
    public async Task<int> RunAsync(int loops, TimeSpan duration, Func<HttpClient, Task<HttpStatusCode>> send)
    {
        var sent = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                var node = Pick();
                if (node is null)
                {
                    Failures.Enqueue($"{clock.Elapsed.TotalSeconds:0.00} s: no node is up");
                    await Task.Delay(10);
                    continue;
                }
                Interlocked.Increment(ref sent);
                try
                {
                    var status = await send(node.Traffic);
                    if (status == HttpStatusCode.OK)
                    {
                        node.CountServed();
                    }
                    else
                    {
                        Failures.Enqueue($"{clock.Elapsed.TotalSeconds:0.00} s: {node.Name} answered {(int)status}");
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
                {
                    Failures.Enqueue($"{clock.Elapsed.TotalSeconds:0.00} s: {node.Name} failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        })));
        return sent;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_probing);
        _stop.Dispose();
    }

    private BalancedNode? Pick()
    {
        var start = (uint)Interlocked.Increment(ref _next);
        for (var i = 0u; i < _nodes.Length; i++)
        {
            var node = _nodes[(start + i) % _nodes.Length];
            if (node.Up)
            {
                return node;
            }
        }
        return null;
    }

    private async Task ProbeLoopAsync(BalancedNode node, string path, TimeSpan interval)
    {
        var clock = Stopwatch.StartNew();
        while (!_stop.IsCancellationRequested)
        {
            bool up;
            string why;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(1));
                using var response = await node.Probe.GetAsync(path, timeout.Token);
                up = response.StatusCode == HttpStatusCode.OK;
                why = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                up = false;
                why = ex.GetType().Name + ": " + ex.Message;
            }
            if (up != node.Up)
            {
                ProbeLog.Enqueue($"{clock.Elapsed.TotalSeconds:0.00} s: {node.Name} {(up ? "up" : "down")} ({why})");
            }
            node.Up = up;
            try
            {
                await Task.Delay(interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
