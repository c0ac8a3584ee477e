using System.Buffers.Binary;
using System.Text;

namespace Strata.Tests.Images;

/// <summary>
/// A tiny bootable raw disk for tests that boot a real VM (<see cref="QemuVm"/>): random data, a
/// hand-assembled boot sector in sector 0, and a marker sector far into the disk. The boot sector
/// runs in real mode under the BIOS and reports on the serial port COM1 (0x3F8), one line each:
/// <list type="number">
/// <item><c>STRATA-BOOT</c>: sector 0 was read and runs;</item>
/// <item>the marker (a line of its own) read from <see cref="MarkerOffset"/> with int 13h AH=42h (data beyond sector 0 arrives);</item>
/// <item><c>WRITE-OK</c> when writing its own sector 0 image to <see cref="WriteOffset"/> with int 13h
/// AH=43h and reading it back gives the same bytes, <c>WRITE-FAILED</c> when the BIOS reports an
/// error for either, <c>READBACK-DIFFERS</c> otherwise;</item>
/// <item><c>DONE</c>, then it ends the VM through QEMU's isa-debug-exit device (exit code <see cref="ExitCode"/>).</item>
/// </list>
/// The marker and the written sector lie 3 MiB and 1 MiB before the end, off 64 KiB boundaries, so
/// they are in other blocks than sector 0 and a write covers only part of its block.
/// </summary>
public sealed class BootDisk
{
    public const int SectorSize = 512;

    /// <summary>What QEMU exits with when the boot sector reaches its end: (0x10 &lt;&lt; 1) | 1 from isa-debug-exit.</summary>
    public const int ExitCode = 33;

    public const string WriteOk = "WRITE-OK", WriteFailed = "WRITE-FAILED";

    private BootDisk(string path, long size, string marker, byte[] bootSector)
    {
        Path = path;
        Size = size;
        Marker = marker;
        BootSector = bootSector;
    }

    public string Path { get; }
    public long Size { get; }
    public string Marker { get; }

    /// <summary>Sector 0; the VM writes exactly these bytes at <see cref="WriteOffset"/>.</summary>
    public byte[] BootSector { get; }

    public long MarkerOffset => MarkerOffsetFor(Size);
    public long WriteOffset => WriteOffsetFor(Size);

    private static long MarkerOffsetFor(long size) => size - (3 << 20) + 5 * SectorSize;
    private static long WriteOffsetFor(long size) => size - (1 << 20) + 7 * SectorSize;

    /// <summary>The serial output of a boot that ran to the end, its write reporting <paramref name="writeResult"/>.</summary>
    public string Transcript(string writeResult) => $"STRATA-BOOT\r\n{Marker}\r\n{writeResult}\r\nDONE\r\n";

    /// <summary>Writes a disk of <paramref name="size"/> bytes (a multiple of 1 MiB, at least 4 MiB) of seeded random data.</summary>
    public static BootDisk Create(string path, long size, string marker, int seed = 1)
    {
        if (size % (1 << 20) != 0 || size < 4 << 20) throw new ArgumentOutOfRangeException(nameof(size), "a multiple of 1 MiB, at least 4 MiB");
        if (marker.Length > 400 || marker.Contains('\0')) throw new ArgumentException("the marker must fit its sector, zero-terminated", nameof(marker));
        var bootSector = AssembleBootSector(MarkerOffsetFor(size) / SectorSize, WriteOffsetFor(size) / SectorSize);
        using (var file = new FileStream(path, FileMode.CreateNew))
        {
            var random = new Random(seed);
            var chunk = new byte[1 << 20];
            for (long at = 0; at < size; at += chunk.Length)
            {
                random.NextBytes(chunk);
                file.Write(chunk);
            }
            var markerSector = new byte[SectorSize];
            Encoding.ASCII.GetBytes(marker + "\r\n").CopyTo(markerSector, 0); // the rest zeros: the string's terminator
            WriteAt(file, 0, bootSector);
            WriteAt(file, MarkerOffsetFor(size), markerSector);
        }
        return new BootDisk(path, size, marker, bootSector);
    }

    private static void WriteAt(FileStream file, long offset, byte[] data)
    {
        file.Position = offset;
        file.Write(data);
    }

    /// <summary>
    /// The boot sector, loaded by the BIOS at 0000:7C00 with the boot drive in DL. The code uses
    /// only relative jumps and calls and sets DS=ES=0, so it runs whether the BIOS enters it as
    /// 0000:7C00 or 07C0:0000. Assembled by hand; checked against GNU as (.code16, intel syntax)
    /// and objdump -mi8086. The buffer at 0000:8000 is free conventional memory.
    /// </summary>
    private static byte[] AssembleBootSector(long markerLba, long writeLba)
    {
        byte[] code =
        [
            0xFA,                   // 00 start:  cli                     ; no interrupts while the stack moves
            0x31, 0xC0,             // 01         xor  ax, ax
            0x8E, 0xD8,             // 03         mov  ds, ax
            0x8E, 0xC0,             // 05         mov  es, ax
            0x8E, 0xD0,             // 07         mov  ss, ax
            0xBC, 0x00, 0x7C,       // 09         mov  sp, 0x7C00         ; the stack grows down below the code
            0xFB,                   // 0C         sti
            0xFC,                   // 0D         cld                     ; lodsb and cmpsw count upwards
            0x89, 0xD5,             // 0E         mov  bp, dx             ; keep the boot drive (DL): print clobbers DX
            0xBE, 0x40, 0x7D,       // 10         mov  si, msg_boot       ; 7D40
            0xE8, 0x55, 0x00,       // 13         call print              ; 7C6B
            0xBE, 0x00, 0x7D,       // 16         mov  si, dap_read       ; 7D00
            0xB4, 0x42,             // 19         mov  ah, 0x42           ; extended read: DS:SI = disk address packet
            0x89, 0xEA,             // 1B         mov  dx, bp
            0xCD, 0x13,             // 1D         int  0x13               ; CF set on error
            0xBE, 0x4E, 0x7D,       // 1F         mov  si, msg_read_failed ; 7D4E (mov leaves the flags alone)
            0x72, 0x36,             // 22         jc   finish             ; 7C5A
            0xBE, 0x00, 0x80,       // 24         mov  si, 0x8000         ; the marker sector just read
            0xE8, 0x41, 0x00,       // 27         call print
            0xBE, 0x10, 0x7D,       // 2A         mov  si, dap_write      ; 7D10: this sector (7C00) to writeLba
            0xB8, 0x00, 0x43,       // 2D         mov  ax, 0x4300         ; extended write, AL=0: no verify
            0x89, 0xEA,             // 30         mov  dx, bp
            0xCD, 0x13,             // 32         int  0x13
            0xBE, 0x67, 0x7D,       // 34         mov  si, msg_write_failed ; 7D67
            0x72, 0x21,             // 37         jc   finish
            0xBE, 0x20, 0x7D,       // 39         mov  si, dap_back       ; 7D20: writeLba back to 8000
            0xB4, 0x42,             // 3C         mov  ah, 0x42
            0x89, 0xEA,             // 3E         mov  dx, bp
            0xCD, 0x13,             // 40         int  0x13
            0xBE, 0x67, 0x7D,       // 42         mov  si, msg_write_failed
            0x72, 0x13,             // 45         jc   finish
            0xBE, 0x00, 0x7C,       // 47         mov  si, 0x7C00
            0xBF, 0x00, 0x80,       // 4A         mov  di, 0x8000
            0xB9, 0x00, 0x01,       // 4D         mov  cx, 256            ; 256 words = one sector
            0xF3, 0xA7,             // 50         repe cmpsw
            0xBE, 0x76, 0x7D,       // 52         mov  si, msg_differs    ; 7D76
            0x75, 0x03,             // 55         jne  finish
            0xBE, 0x5C, 0x7D,       // 57         mov  si, msg_write_ok   ; 7D5C
            0xE8, 0x0E, 0x00,       // 5A finish: call print
            0xBE, 0x89, 0x7D,       // 5D         mov  si, msg_done       ; 7D89
            0xE8, 0x08, 0x00,       // 60         call print
            0xB0, 0x10,             // 63         mov  al, 0x10
            0xE6, 0xF4,             // 65         out  0xF4, al           ; isa-debug-exit: QEMU exits with (0x10 << 1) | 1
            0xFA,                   // 67         cli                     ; without that device: stop here
            0xF4,                   // 68 halt:   hlt
            0xEB, 0xFD,             // 69         jmp  halt
            0xAC,                   // 6B print:  lodsb                   ; print the zero-terminated string at DS:SI
            0x84, 0xC0,             // 6C         test al, al
            0x74, 0x12,             // 6E         jz   print_ret          ; 7C82
            0x88, 0xC4,             // 70         mov  ah, al
            0xBA, 0xFD, 0x03,       // 72         mov  dx, 0x3FD          ; COM1 line status
            0xEC,                   // 75 wait:   in   al, dx
            0xA8, 0x20,             // 76         test al, 0x20           ; transmit holding register empty?
            0x74, 0xFB,             // 78         jz   wait
            0x88, 0xE0,             // 7A         mov  al, ah
            0xBA, 0xF8, 0x03,       // 7C         mov  dx, 0x3F8          ; COM1 data
            0xEE,                   // 7F         out  dx, al
            0xEB, 0xE9,             // 80         jmp  print
            0xC3,                   // 82 print_ret: ret
        ];
        var sector = new byte[SectorSize];
        code.CopyTo(sector, 0);
        // Disk address packets (EDD 3.0): size 16, reserved, sector count, buffer offset:segment, LBA (64-bit).
        WriteDiskAddressPacket(sector.AsSpan(0x100), buffer: 0x8000, markerLba); // dap_read
        WriteDiskAddressPacket(sector.AsSpan(0x110), buffer: 0x7C00, writeLba);  // dap_write
        WriteDiskAddressPacket(sector.AsSpan(0x120), buffer: 0x8000, writeLba);  // dap_back
        // The messages at 7D40, 7D4E, 7D5C, 7D67, 7D76, 7D89, as the code above names them.
        Encoding.ASCII.GetBytes("STRATA-BOOT\r\n\0READ-FAILED\r\n\0WRITE-OK\r\n\0WRITE-FAILED\r\n\0READBACK-DIFFERS\r\n\0DONE\r\n\0").CopyTo(sector, 0x140);
        sector[0x1FE] = 0x55; // the BIOS boots a sector that ends in 55 AA
        sector[0x1FF] = 0xAA;
        return sector;
    }

    private static void WriteDiskAddressPacket(Span<byte> packet, ushort buffer, long lba)
    {
        packet[0] = 16;
        packet[1] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(packet[2..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(packet[4..], buffer);
        BinaryPrimitives.WriteUInt16LittleEndian(packet[6..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(packet[8..], lba);
    }
}
