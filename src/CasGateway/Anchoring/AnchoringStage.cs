namespace CasGateway.Anchoring;

public static class AnchoringStage
{
    public static WebApplicationBuilder AddAnchoring(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AnchorResolver>();
        return builder;
    }
}
