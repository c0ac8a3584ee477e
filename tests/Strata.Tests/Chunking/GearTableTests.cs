using Strata.Chunking;

namespace Strata.Tests.Chunking;

public class GearTableTests
{
    /// <summary>Values from the derivation in the GearTable doc comment, computed independently (Python hashlib).</summary>
    [Fact]
    public void Table_follows_the_documented_derivation()
    {
        var zeroSeed = GearTable.FromSeed(new byte[32]);
        Assert.Equal(0xca5682ac319e9c7fUL, zeroSeed[0]);

        var counting = ChunkingTestData.CountingSeedTable();
        Assert.Equal(0x5a73818dcb0d171bUL, counting[0]);
        Assert.Equal(0xbc0443216fd9448bUL, counting[1]);
        Assert.Equal(0xacaf5963a341b7bdUL, counting[255]);
    }

    [Fact]
    public void Seed_must_be_32_bytes()
    {
        Assert.Throws<ArgumentException>(() => GearTable.FromSeed(new byte[31]));
        Assert.Throws<ArgumentException>(() => GearTable.FromSeed(new byte[33]));
    }
}
