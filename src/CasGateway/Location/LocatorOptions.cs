using System.ComponentModel.DataAnnotations;

namespace CasGateway.Location;

/// <summary><c>Gateway:Locator</c>: where mailbox locations come from.</summary>
public sealed class LocatorOptions
{
    public const string Section = "Gateway:Locator";

    /// <summary>The store: <c>File</c> (embedded directory file).</summary>
    [AllowedValues("File")]
    public string Kind { get; set; } = "File";

    [Required]
    public DirectoryFileOptions File { get; set; } = new();
}

public sealed class DirectoryFileOptions
{
    /// <summary>Path of the directory JSON file, relative to the content root.</summary>
    [Required]
    public string Path { get; set; } = "Demo/directory.json";

    /// <summary>Poll the file for changes instead of relying on file-system events (network shares, containers).</summary>
    public bool UsePolling { get; set; }
}
