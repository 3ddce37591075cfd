// Asks SOAP Autodiscover for user settings with ews-javascript-api (a port of the EWS Managed API) and prints
// what the library understood as JSON. Usage: node get-user-settings.js <autodiscover.svc url> <user> <password> <address>...
const ews = require('ews-javascript-api');

const [url, user, password, ...addresses] = process.argv.slice(2);
const service = new ews.AutodiscoverService(new ews.Uri(url), ews.ExchangeVersion.Exchange2013);
service.Credentials = new ews.WebCredentials(user, password);
const names = [
  ews.UserSettingName.UserDisplayName,
  ews.UserSettingName.UserDeploymentId,
  ews.UserSettingName.InternalEwsUrl,
  ews.UserSettingName.ExternalEwsUrl,
  ews.UserSettingName.InternalMailboxServer,
  ews.UserSettingName.ExternalMailboxServer,
  ews.UserSettingName.CasVersion,
  ews.UserSettingName.EwsSupportedSchemas,
  ews.UserSettingName.ActiveDirectoryServer,
];
service.GetUsersSettings(addresses, ...names).then(
  (collection) => {
    const responses = collection.GetEnumerator().map((r) => ({
      ErrorCode: ews.AutodiscoverErrorCode[r.ErrorCode],
      RedirectTarget: r.RedirectTarget ?? null,
      Settings: Object.fromEntries(names.filter((n) => r.Settings.containsKey(n)).map((n) => [ews.UserSettingName[n], String(r.Settings.get(n))])),
      SettingErrors: r.UserSettingErrors.map((e) => e.SettingName),
    }));
    console.log(JSON.stringify({ ErrorCode: ews.AutodiscoverErrorCode[collection.ErrorCode], Responses: responses }));
  },
  (error) => {
    console.error(error && (error.stack || error.message) ? String(error.stack || error.message) : JSON.stringify(error));
    process.exit(2);
  });
