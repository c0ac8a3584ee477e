using System.CommandLine;
using System.Text;
using System.Text.Json;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Cli.Commands;

internal static class CatCommand
{
    public static Command Create()
    {
        var kind = new Argument<string>("TYPE") { Description = "config | snapshot | index | key | tree | blob" };
        kind.AcceptOnlyFromAmong("config", "snapshot", "index", "key", "tree", "blob");
        var id = new Argument<string?>("ID") { Description = "Id (or prefix for snapshots, 'latest') of the object", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("cat", "Print a repository object, decrypted (JSON, or raw bytes for a blob)") { kind, id };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var which = ctx.Parse.GetValue(kind)!;
            var reference = ctx.Parse.GetValue(id);
            if (which != "config" && reference is null) throw new UsageException($"cat {which} needs an id");
            switch (which)
            {
                case "config":
                    WriteJson(JsonSerializer.SerializeToUtf8Bytes(repo.Config, StrataJson.Default.RepositoryConfig));
                    break;
                case "snapshot":
                    var snap = await repo.FindSnapshotAsync(reference!, null, ct);
                    WriteJson(JsonSerializer.SerializeToUtf8Bytes(snap, StrataJson.Default.Snapshot));
                    break;
                case "key":
                    var slots = await Repository.Repository.ListKeySlotsAsync(repo.Backend, ct);
                    var slot = slots.SingleOrDefault(s => s.Id.StartsWith(reference!, StringComparison.Ordinal));
                    if (slot.Slot is null) throw new UsageException($"no key {reference}");
                    WriteJson(JsonSerializer.SerializeToUtf8Bytes(slot.Slot, StrataJson.Default.KeySlot));
                    break;
                case "index":
                    var file = await repo.LoadIndexFileAsync(Layout.IndexFolder + reference, ct);
                    var sb = new StringBuilder();
                    foreach (var (pack, entries) in file.Packs)
                        foreach (var e in entries)
                            sb.AppendLine($"{pack} {e.Type.ToString().ToLowerInvariant()} {e.Id} offset={e.Offset} length={e.Length} raw={e.RawLength}");
                    Console.Out.Write(sb.ToString());
                    break;
                case "tree":
                case "blob":
                    await repo.LoadIndexAsync(ct);
                    var bytes = await repo.ReadBlobAsync(BlobId.TryParse(reference, out var blobId) ? blobId : throw new UsageException($"'{reference}' is not a 64-digit blob id"), ct);
                    if (which == "tree") WriteJson(bytes);
                    else { using var stdout = Console.OpenStandardOutput(); stdout.Write(bytes); }
                    break;
            }
            return ExitCodes.Ok;
        });
    }

    private static void WriteJson(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        Console.Out.WriteLine(JsonSerializer.Serialize(doc.RootElement, new JsonSerializerOptions { WriteIndented = true }));
    }
}
