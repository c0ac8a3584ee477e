using System.Net;
using System.Net.Sockets;
using Strata.Errors;
using Strata.Nbd;

namespace Strata.Tests.Nbd;

public sealed class NbdAddressTests
{
    [Fact]
    public void Tcp_address_with_port_and_export()
    {
        var a = NbdAddress.Parse("nbd://127.0.0.1:10900/disk0");
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 10900), a.EndPoint);
        Assert.Equal("disk0", a.ExportName);
    }

    [Fact]
    public void Tcp_address_defaults_to_port_10809_and_the_default_export()
    {
        var a = NbdAddress.Parse("nbd://127.0.0.1");
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, NbdAddress.DefaultPort), a.EndPoint);
        Assert.Equal("", a.ExportName);
    }

    [Fact]
    public void Unix_address_takes_the_socket_from_the_query()
    {
        var a = NbdAddress.Parse("nbd+unix:///vm1?socket=/run/qemu/nbd.sock");
        Assert.Equal(new UnixDomainSocketEndPoint("/run/qemu/nbd.sock").ToString(), a.EndPoint.ToString());
        Assert.Equal("vm1", a.ExportName);
    }

    [Theory]
    [InlineData("nbd+unix:///vm1")]
    [InlineData("http://host/x")]
    [InlineData("nbd:///x")]
    public void Malformed_addresses_are_usage_errors(string text) => Assert.Throws<UsageException>(() => NbdAddress.Parse(text));
}
