using System.CommandLine;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Retention;

namespace Strata.Cli.Commands;

/// <summary>strata policy set|show|clear: the retention policy stored in the repository, which 'strata forget' applies when given no rules.</summary>
internal static class PolicyCommand
{
    public static Command Create()
    {
        var command = new Command("policy", "Manage the retention policy stored in the repository (applied by 'strata forget' without rules)");

        var file = new Argument<string>("FILE") { Description = "Policy file, JSON or YAML (see README, \"Retention\")" };
        var set = new Command("set", "Check a policy file and store it in the repository, replacing any stored policy") { file };
        set.WithAction(async (ctx, ct) =>
        {
            var policy = RetentionPolicyDocument.ParseFile(ctx.Parse.GetValue(file)!);
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await StoredRetentionPolicy.SaveAsync(repo, policy, ct);
            if (ctx.Json) JsonOutput.Line(RetentionPolicyDocument.ToJson(policy));
            else
            {
                ctx.Info("stored the retention policy; 'strata forget' without rules now applies it:");
                foreach (var line in RetentionView.Describe(policy)) ctx.Info($"  {line}");
            }
            return ExitCodes.Ok;
        });

        var show = new Command("show", "Print the stored retention policy (--json: the canonical policy document, or null)").WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var policy = await StoredRetentionPolicy.LoadAsync(repo, ct);
            if (ctx.Json)
            {
                Console.Out.WriteLine(policy is null ? "null" : RetentionPolicyDocument.ToJson(policy).ToJsonString());
                return ExitCodes.Ok;
            }
            if (policy is null)
            {
                Console.Out.WriteLine("no retention policy is stored in the repository ('strata policy set FILE' stores one)");
                return ExitCodes.Ok;
            }
            Console.Out.WriteLine("retention policy stored in the repository:");
            foreach (var line in RetentionView.Describe(policy)) Console.Out.WriteLine($"  {line}");
            Console.Out.WriteLine();
            Console.Out.WriteLine(RetentionPolicyDocument.ToJson(policy).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        });

        var clear = new Command("clear", "Remove the stored retention policy ('strata forget' then needs rules)").WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await StoredRetentionPolicy.ClearAsync(repo, ct);
            ctx.Info("removed the stored retention policy");
            return ExitCodes.Ok;
        });

        command.Subcommands.Add(set);
        command.Subcommands.Add(show);
        command.Subcommands.Add(clear);
        return command;
    }
}
