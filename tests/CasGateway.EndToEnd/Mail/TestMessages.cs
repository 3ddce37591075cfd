using System.Globalization;
using System.Text;

namespace CasGateway.EndToEnd.Mail;

/// <summary>Raw RFC 5322 messages (CR LF line ends), so what comes back can be compared byte for byte.</summary>
public static class TestMessages
{
    public static byte[] Create(string to, string subject, int attachmentBytes = 0)
    {
        var text = new StringBuilder();
        var boundary = "=_casgw_" + Guid.NewGuid().ToString("N");
        text.Append("From: Sender <sender@fabrikam.com>\r\n");
        text.Append(CultureInfo.InvariantCulture, $"To: <{to}>\r\n");
        text.Append(CultureInfo.InvariantCulture, $"Subject: {subject}\r\n");
        text.Append(CultureInfo.InvariantCulture, $"Message-ID: <{Guid.NewGuid():N}@fabrikam.com>\r\n");
        text.Append("Date: Wed, 15 Nov 2023 09:30:00 +0100\r\n");
        text.Append("MIME-Version: 1.0\r\n");
        if (attachmentBytes == 0)
        {
            text.Append("Content-Type: text/plain; charset=utf-8\r\n\r\nHello through the front door.\r\n");
            return Encoding.UTF8.GetBytes(text.ToString());
        }
        text.Append(CultureInfo.InvariantCulture, $"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n");
        text.Append(CultureInfo.InvariantCulture, $"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFigures attached.\r\n");
        text.Append(CultureInfo.InvariantCulture, $"--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n");
        text.Append("Content-Disposition: attachment; filename=\"figures.bin\"\r\n\r\n");
        var payload = new byte[attachmentBytes];
        new Random(attachmentBytes).NextBytes(payload);
        var base64 = Convert.ToBase64String(payload);
        for (var i = 0; i < base64.Length; i += 76)
        {
            text.Append(base64.AsSpan(i, Math.Min(76, base64.Length - i))).Append("\r\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"--{boundary}--\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
