using Microsoft.Extensions.Options;

namespace CasGateway.Mail;

/// <summary><c>Gateway:Mail</c> rules beyond the attributes: an enabled IMAP/POP3 listener needs the master login; accepted SMTP domains are domain names.</summary>
internal sealed class MailOptionsValidator : IValidateOptions<MailOptions>
{
    public ValidateOptionsResult Validate(string? name, MailOptions options)
    {
        var problems = new List<string>();
        foreach (var domain in options.Smtp.AcceptedDomains.Where(d => Uri.CheckHostName(d) != UriHostNameType.Dns))
        {
            problems.Add($"{MailOptions.Section}:Smtp:AcceptedDomains: '{domain}' is not a domain name such as contoso.com.");
        }
        if (options.Imap.Enabled || options.Pop.Enabled)
        {
            if (string.IsNullOrEmpty(options.Backend.MasterUser))
            {
                problems.Add($"{MailOptions.Section}:Backend:MasterUser: required when an IMAP or POP3 listener is enabled.");
            }
            if (string.IsNullOrEmpty(options.Backend.MasterPassword))
            {
                problems.Add($"{MailOptions.Section}:Backend:MasterPassword: required when an IMAP or POP3 listener is enabled.");
            }
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
