using System.Xml;
using System.Xml.Linq;

namespace CasGateway.Autodiscover;

/// <summary>
/// Reads a client's XML body safely: bounded in bytes (read before parsing, never more than the limit), no DTD,
/// no external resolution. Anything else is a <see cref="ClientXmlException"/>, which the forms answer with their
/// schema's error — never a 500.
/// </summary>
internal static class ClientXml
{
    public static async Task<XDocument> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            throw new ClientXmlException($"The request is larger than {maxBytes} bytes.");
        }
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new ClientXmlException($"The request is larger than {maxBytes} bytes.");
            }
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0)
        {
            throw new ClientXmlException("The request has no body.");
        }
        buffer.Position = 0;
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = maxBytes,
            MaxCharactersFromEntities = 0,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            Async = true,
        };
        try
        {
            using var reader = XmlReader.Create(buffer, settings);
            return await XDocument.LoadAsync(reader, LoadOptions.None, cancellationToken);
        }
        catch (XmlException ex)
        {
            throw new ClientXmlException("The request is not well-formed XML: " + ex.Message);
        }
    }

    /// <summary>The text of the first descendant with this local name (any namespace), trimmed; null when absent.</summary>
    public static string? Text(XContainer container, string localName)
        => container.Descendants().FirstOrDefault(e => e.Name.LocalName == localName)?.Value.Trim();

    /// <summary>Writes a document as UTF-8 XML.</summary>
    public static async Task WriteAsync(HttpResponse response, XDocument document, int status = StatusCodes.Status200OK)
    {
        response.StatusCode = status;
        response.ContentType = "text/xml; charset=utf-8";
        await using var writer = XmlWriter.Create(response.Body, new XmlWriterSettings { Async = true, Encoding = new System.Text.UTF8Encoding(false), Indent = true });
        await document.SaveAsync(writer, response.HttpContext.RequestAborted);
    }
}

/// <summary>The client's XML is too large, empty or not well-formed.</summary>
internal sealed class ClientXmlException(string message) : Exception(message);
