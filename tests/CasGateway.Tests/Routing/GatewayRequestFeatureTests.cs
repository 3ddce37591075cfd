using CasGateway.Anchoring;
using CasGateway.Health;
using CasGateway.Routing;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Tests.Routing;

public sealed class GatewayRequestFeatureTests
{
    [Theory]
    [InlineData("Ews", ProtocolFamily.Ews, ServerComponent.Ews)]
    [InlineData("activesync", ProtocolFamily.ActiveSync, ServerComponent.ActiveSync)]
    [InlineData("PowerShell", ProtocolFamily.PowerShell, ServerComponent.PowerShell)]
    public void A_family_route_gives_its_family_and_component_once_shared(string metadata, ProtocolFamily family, ServerComponent component)
    {
        var endpoint = RouteEndpoint(metadata);
        var feature = GatewayRequestFeature.For(endpoint);
        Assert.Equal(family, feature.Family);
        Assert.Equal(component, feature.Component);
        Assert.Same(feature, GatewayRequestFeature.For(RouteEndpoint(metadata)));
    }

    [Fact]
    public void Anything_else_has_no_family_and_belongs_to_the_whole_node()
    {
        foreach (var endpoint in new[] { null, new Endpoint(null, EndpointMetadataCollection.Empty, "probe") })
        {
            var feature = GatewayRequestFeature.For(endpoint);
            Assert.Null(feature.Family);
            Assert.Equal(ServerComponent.ServerWideOffline, feature.Component);
        }
    }

    private static Endpoint RouteEndpoint(string family)
    {
        var route = new RouteModel(new RouteConfig { RouteId = "r", Metadata = new Dictionary<string, string> { ["Family"] = family } }, null, HttpTransformer.Empty);
        return new Endpoint(null, new EndpointMetadataCollection(route), "r");
    }
}
