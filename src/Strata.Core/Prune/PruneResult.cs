namespace Strata.Prune;

public sealed class PruneResult
{
    public int Snapshots { get; set; }
    public long PacksTotal { get; set; }
    public long BytesTotal { get; set; }
    public long BlobsUsed { get; set; }
    public long UsedBytes { get; set; }
    public long UnusedBytes { get; set; }

    /// <summary>Phase one of this run: packs condemned (wholly unused, repacked, or left unindexed by interrupted backups).</summary>
    public int PacksCondemned { get; set; }
    public long BytesCondemned { get; set; }
    public int PacksUnindexed { get; set; }
    public int PacksRepacked { get; set; }
    public long BlobsRepacked { get; set; }
    public long BytesRepackedWritten { get; set; }

    /// <summary>Phase two (of this or earlier runs): packs deleted, and packs kept because a snapshot written meanwhile needs them.</summary>
    public int PacksDeleted { get; set; }
    public long BytesDeleted { get; set; }
    public int PacksSpared { get; set; }
    public int IndexFilesRewritten { get; set; }

    /// <summary>Condemned packs still waiting for writers that were running when they were condemned.</summary>
    public int PacksPending { get; set; }
    public long BytesPending { get; set; }
    public List<string> PendingOn { get; } = new();
    public List<string> StaleLeasesRemoved { get; } = new();
    public List<string> Warnings { get; } = new();
}
