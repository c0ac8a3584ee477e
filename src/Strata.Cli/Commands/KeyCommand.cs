using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;

namespace Strata.Cli.Commands;

internal static class KeyCommand
{
    public static Command Create()
    {
        var newPasswordFile = new Option<string?>("--new-password-file") { Description = "Read the new password from this file (default: $STRATA_NEW_PASSWORD or a prompt)", Recursive = true };
        var command = new Command("key", "Manage the passwords (key slots) that open the repository") { newPasswordFile };

        var list = new Command("list", "List key slots").WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var slots = await Repository.Repository.ListKeySlotsAsync(repo.Backend, ct);
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonArray(slots.Select(s => (JsonNode)new JsonObject
                {
                    ["id"] = s.Id, ["current"] = s.Id == repo.KeyId, ["created"] = s.Slot.Created.ToString("o"),
                    ["hostname"] = s.Slot.Hostname, ["username"] = s.Slot.Username,
                }).ToArray()));
                return ExitCodes.Ok;
            }
            Console.Out.WriteLine($" {"ID",-10} {"User",-12} {"Host",-16} Created");
            foreach (var (id, slot) in slots.OrderBy(s => s.Slot.Created))
                Console.Out.WriteLine($"{(id == repo.KeyId ? '*' : ' ')}{id[..8],-10} {slot.Username,-12} {slot.Hostname,-16} {slot.Created.LocalDateTime:yyyy-MM-dd HH:mm:ss}");
            return ExitCodes.Ok;
        });

        var add = new Command("add", "Add a key slot with a new password").WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var id = await repo.AddKeyAsync(ReadNewPassword(ctx, newPasswordFile), ct);
            ctx.Info($"added key {id[..8]}");
            return ExitCodes.Ok;
        });

        var keyId = new Argument<string>("ID") { Description = "Key id (prefix) as shown by 'key list'" };
        var remove = new Command("remove", "Remove a key slot (not the one in use)") { keyId };
        remove.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.RemoveKeyAsync(ctx.Parse.GetValue(keyId)!, ct);
            ctx.Info($"removed key {ctx.Parse.GetValue(keyId)}");
            return ExitCodes.Ok;
        });

        var passwd = new Command("passwd", "Change the password of the key in use").WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var newId = await repo.AddKeyAsync(ReadNewPassword(ctx, newPasswordFile), ct);
            // New slot first, old slot last: a crash in between leaves two working passwords, never none.
            await repo.Backend.DeleteAsync(Repository.Layout.Key(repo.KeyId), ct);
            ctx.Info($"password changed (key {repo.KeyId[..8]} replaced by {newId[..8]})");
            return ExitCodes.Ok;
        });

        command.Subcommands.Add(list);
        command.Subcommands.Add(add);
        command.Subcommands.Add(remove);
        command.Subcommands.Add(passwd);
        return command;
    }

    private static string ReadNewPassword(CommandContext ctx, Option<string?> newPasswordFile) =>
        PasswordSource.Read(ctx.Parse.GetValue(newPasswordFile), confirm: true, variable: "STRATA_NEW_PASSWORD", fileVariable: "STRATA_NEW_PASSWORD_FILE", what: "new password");
}
