using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Errors;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Strata.Retention;

/// <summary>
/// The policy file (README, "Retention"): JSON or YAML with the settings below, every one optional.
/// Unknown settings are errors, so a misspelt rule can never silently keep less than meant.
/// <code>
/// keep_last: 3            keep_hourly / keep_daily / keep_weekly / keep_monthly / keep_yearly: N (-1 or "unlimited")
/// keep_within: 2d         keep_within_hourly / _daily / _weekly / _monthly / _yearly: DURATION
/// keep_tags: [release, "nightly,verified"]
/// tiers: [{within: 24h, every: all}, {within: 7d, every: hour}, {within: 30d, every: day}, {within: 1y, every: month}]
/// group_by: host,paths    time_zone: Europe/Berlin
/// </code>
/// The canonical form (what <see cref="ToJson"/> writes and the repository stores) spells every
/// within-rule as a tier.
/// </summary>
public static class RetentionPolicyDocument
{
    private static readonly string[] CountKeys = ["keep_last", .. CalendarUnits.All.Select(u => "keep_" + u.Adjective())];
    private static readonly Dictionary<string, CalendarUnit> WithinKeys = CalendarUnits.All.ToDictionary(u => "keep_within_" + u.Adjective());

    /// <summary>Reads a policy file; JSON unless the name ends in .yaml/.yml or the text does not start with '{'.</summary>
    public static RetentionPolicy ParseFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read policy file {path}: {e.Message}");
        }
        var extension = Path.GetExtension(path).ToLowerInvariant();
        var yaml = extension is ".yaml" or ".yml" || (extension != ".json" && !text.TrimStart().StartsWith('{'));
        return Parse(text, path, yaml);
    }

    public static RetentionPolicy Parse(string text, string source, bool yaml)
    {
        var root = yaml ? ParseYaml(text, source) : ParseJson(text, source);
        if (root is not JsonObject settings)
            throw new UsageException($"{source}: a policy is a {(yaml ? "mapping" : "JSON object")} of settings such as keep_daily");
        try
        {
            var policy = FromSettings(settings);
            policy.Validate();
            return policy;
        }
        catch (UsageException e)
        {
            throw new UsageException($"{source}: {e.Message}");
        }
    }

    /// <summary>The canonical JSON document of <paramref name="policy"/>.</summary>
    public static JsonObject ToJson(RetentionPolicy policy)
    {
        var json = new JsonObject();
        if (policy.KeepLast != 0) json["keep_last"] = policy.KeepLast;
        foreach (var unit in CalendarUnits.All)
            if (policy.CountFor(unit) != 0) json["keep_" + unit.Adjective()] = policy.CountFor(unit);
        if (policy.KeepTags.Count > 0)
            json["keep_tags"] = new JsonArray(policy.KeepTags.Select(t => (JsonNode)JsonValue.Create(string.Join(",", t))).ToArray());
        if (policy.Tiers.Count > 0)
            json["tiers"] = new JsonArray(policy.Tiers.Select(t => (JsonNode)new JsonObject
            {
                ["within"] = t.Within.ToString(),
                ["every"] = t.Every?.Noun() ?? "all",
            }).ToArray());
        json["group_by"] = policy.GroupBy.Format();
        if (policy.TimeZone is not null) json["time_zone"] = policy.TimeZone;
        return json;
    }

    private static RetentionPolicy FromSettings(JsonObject settings)
    {
        var counts = new Dictionary<string, int>();
        var tiers = new List<RetentionTier>();
        var tags = new List<IReadOnlyList<string>>();
        var grouping = SnapshotGroupings.Default;
        string? zone = null;
        foreach (var (key, value) in settings)
        {
            if (CountKeys.Contains(key)) counts[key] = Count(value, key);
            else if (key == "keep_within") tiers.Add(new RetentionTier(RetentionDuration.Parse(Text(value, key), key), null));
            else if (WithinKeys.TryGetValue(key, out var unit)) tiers.Add(new RetentionTier(RetentionDuration.Parse(Text(value, key), key), unit));
            else if (key == "keep_tags") tags.AddRange(Items(value, key).Select(v => TagSet(v, key)));
            else if (key == "tiers") tiers.AddRange(Items(value, key).Select((v, i) => Tier(v, $"tiers[{i}]")));
            else if (key == "group_by")
                grouping = value is JsonArray parts
                    ? SnapshotGroupings.Parse(string.Join(",", parts.Select(p => Text(p, key))), key)
                    : SnapshotGroupings.Parse(value is null ? "" : Text(value, key), key);
            else if (key == "time_zone") zone = value is null ? null : Text(value, key);
            else throw new UsageException($"unknown setting '{key}' (known: {string.Join(", ", CountKeys)}, keep_within, keep_within_hourly … keep_within_yearly, keep_tags, tiers, group_by, time_zone)");
        }
        return new RetentionPolicy
        {
            KeepLast = counts.GetValueOrDefault("keep_last"),
            KeepHourly = counts.GetValueOrDefault("keep_hourly"),
            KeepDaily = counts.GetValueOrDefault("keep_daily"),
            KeepWeekly = counts.GetValueOrDefault("keep_weekly"),
            KeepMonthly = counts.GetValueOrDefault("keep_monthly"),
            KeepYearly = counts.GetValueOrDefault("keep_yearly"),
            KeepTags = tags,
            Tiers = tiers,
            GroupBy = grouping,
            TimeZone = zone,
        };
    }

    private static RetentionTier Tier(JsonNode? node, string what)
    {
        if (node is not JsonObject tier) throw new UsageException($"{what}: a tier is an object like {{\"within\": \"7d\", \"every\": \"day\"}}");
        RetentionDuration? within = null;
        CalendarUnit? every = null;
        var everySeen = false;
        foreach (var (key, value) in tier)
        {
            if (key == "within") within = RetentionDuration.Parse(Text(value, $"{what}.within"), $"{what}.within");
            else if (key == "every")
            {
                everySeen = true;
                var text = Text(value, $"{what}.every");
                every = text.Trim().ToLowerInvariant() is "all" or "point" or "snapshot" ? null : CalendarUnits.ParseNoun(text, $"{what}.every");
            }
            else throw new UsageException($"{what}: unknown setting '{key}' (a tier has 'within' and 'every')");
        }
        if (within is null) throw new UsageException($"{what}: 'within' is missing (how far back from the newest snapshot the tier reaches, e.g. 30d)");
        if (!everySeen) throw new UsageException($"{what}: 'every' is missing (all, hour, day, week, month or year)");
        return new RetentionTier(within.Value, every);
    }

    private static IReadOnlyList<string> TagSet(JsonNode? node, string what)
    {
        var tags = node is JsonArray all
            ? all.Select(t => Text(t, what).Trim()).ToList()
            : Text(node, what).Split(',', StringSplitOptions.TrimEntries).ToList();
        if (tags.Count == 0 || tags.Any(t => t.Length == 0)) throw new UsageException($"{what}: an entry names an empty tag");
        return tags;
    }

    private static int Count(JsonNode? node, string what)
    {
        if (node is JsonValue v)
        {
            if (v.TryGetValue<int>(out var n)) return n;
            if (v.TryGetValue<long>(out var l)) return l is >= int.MinValue and <= int.MaxValue ? (int)l : throw new UsageException($"{what}: {v} is too large");
            if (v.TryGetValue<string>(out var s))
            {
                if (s.Trim().Equals("unlimited", StringComparison.OrdinalIgnoreCase)) return -1;
                if (int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n)) return n;
            }
        }
        throw new UsageException($"{what}: {Describe(node)} is not a count (give a number of snapshots, or -1 / \"unlimited\")");
    }

    private static string Text(JsonNode? node, string what) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s
        : node is JsonValue n && n.TryGetValue<long>(out var l) ? l.ToString(CultureInfo.InvariantCulture)
        : throw new UsageException($"{what}: {Describe(node)} is not text");

    private static IEnumerable<JsonNode?> Items(JsonNode? node, string what) =>
        node is JsonArray array ? array : throw new UsageException($"{what}: expected a list, found {Describe(node)}");

    private static string Describe(JsonNode? node) => node is null ? "null" : node.ToJsonString();

    private static JsonNode? ParseJson(string text, string source)
    {
        try
        {
            var root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            RejectDuplicateNames(root);
            return root;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new UsageException($"{source}: not valid JSON ({e.Message})");
        }
    }

    // JsonObject builds its dictionary lazily; touching every object here makes a repeated name fail now, as a parse error.
    private static void RejectDuplicateNames(JsonNode? node)
    {
        if (node is JsonObject obj) foreach (var (_, child) in obj) RejectDuplicateNames(child);
        else if (node is JsonArray array) foreach (var child in array) RejectDuplicateNames(child);
    }

    private static JsonNode? ParseYaml(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new UsageException($"{source}: not valid YAML (line {e.Start.Line}, column {e.Start.Column}: {e.Message})");
        }
        if (stream.Documents.Count != 1) throw new UsageException($"{source}: expected one YAML document, found {stream.Documents.Count}");
        return FromYaml(stream.Documents[0].RootNode, source);
    }

    private static JsonNode? FromYaml(YamlNode node, string source)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name }) throw new UsageException($"{source}: line {key.Start.Line}: a setting name must be plain text");
                    obj[name] = FromYaml(value, source);
                }
                return obj;
            case YamlSequenceNode seq:
                return new JsonArray(seq.Children.Select(c => FromYaml(c, source)).ToArray());
            case YamlScalarNode scalar:
                var text = scalar.Value ?? "";
                if (scalar.Style is ScalarStyle.Plain)
                {
                    if (text is "" or "~" or "null" or "Null" or "NULL") return null;
                    if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var small)) return JsonValue.Create(small);
                    if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)) return JsonValue.Create(number);
                }
                return JsonValue.Create(text);
            default:
                throw new UsageException($"{source}: line {node.Start.Line}: aliases and other YAML features are not supported in a policy");
        }
    }
}
