using BenchmarkDotNet.Attributes;
using CasGateway.Anchoring;
using Microsoft.AspNetCore.Http;

namespace CasGateway.Micro;

/// <summary>Cost of finding the anchor of a request (issue 3 goal: under 1 µs, no allocation for header and query hints).</summary>
[MemoryDiagnoser]
public class AnchorBenchmarks
{
    private readonly AnchorResolver _resolver = new();
    private HttpRequest _ewsHeader = null!;
    private HttpRequest _mapiQuery = null!;
    private HttpRequest _rpcQuery = null!;
    private HttpRequest _owaExplicit = null!;
    private HttpRequest _activeSyncUser = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ewsHeader = Request("POST", "/EWS/Exchange.asmx", "", ("X-AnchorMailbox", "alice@contoso.com"));
        _mapiQuery = Request("POST", "/mapi/emsmdb/", "?MailboxId=a1a1a1a1-0000-4000-8000-000000000001@contoso.com");
        _rpcQuery = Request("RPC_IN_DATA", "/rpc/rpcproxy.dll", "?a1a1a1a1-0000-4000-8000-000000000001@contoso.com:6001");
        _owaExplicit = Request("GET", "/owa/bob@contoso.com/service.svc", "?action=GetFolder");
        _activeSyncUser = Request("POST", "/Microsoft-Server-ActiveSync", "?Cmd=Sync&User=alice&DeviceId=ABC&DeviceType=iPhone");
    }

    [Benchmark(Baseline = true)]
    public AnchorOutcome EwsAnchorHeader() => _resolver.Resolve(_ewsHeader, ProtocolFamily.Ews);

    [Benchmark]
    public AnchorOutcome MapiMailboxIdQuery() => _resolver.Resolve(_mapiQuery, ProtocolFamily.Mapi);

    [Benchmark]
    public AnchorOutcome RpcServerQuery() => _resolver.Resolve(_rpcQuery, ProtocolFamily.Rpc);

    [Benchmark]
    public AnchorOutcome OwaExplicitLogonPath() => _resolver.Resolve(_owaExplicit, ProtocolFamily.Owa);

    [Benchmark]
    public AnchorOutcome ActiveSyncNoHint() => _resolver.Resolve(_activeSyncUser, ProtocolFamily.ActiveSync);

    private static HttpRequest Request(string method, string path, string query, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query.Length == 0 ? null : query);
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }
        return context.Request;
    }
}
