using Microsoft.Extensions.Options;

namespace CasGateway.Mail;

/// <summary><c>Gateway:Mail</c> rules beyond the attributes: an enabled listener needs the master login.</summary>
internal sealed class MailOptionsValidator : IValidateOptions<MailOptions>
{
    public ValidateOptionsResult Validate(string? name, MailOptions options)
    {
        var problems = new List<string>();
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
