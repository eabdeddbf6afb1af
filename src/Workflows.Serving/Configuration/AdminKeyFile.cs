using System.Security.Cryptography;
using System.Text;

namespace Workflows.Serving.Configuration;

/// <summary>
/// An admin key kept in a file (<c>Serving:AdminKeyFile</c>; <c>./run.sh</c> uses <c>.serving/admin-key</c>, one per
/// checkout): read when the file exists, else a new random key (48 hex characters) written there, readable by its
/// owner only. Used when <c>Serving:AdminKey</c> is not set.
/// </summary>
internal static class AdminKeyFile
{
    /// <summary>The key in <paramref name="path"/>, created first when the file does not exist.</summary>
    public static string ReadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder)
        {
            Directory.CreateDirectory(folder);
        }

        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using var stream = new FileStream(path, options);
            stream.Write(Encoding.UTF8.GetBytes(key + "\n"));
            return key;
        }
        catch (IOException) when (File.Exists(path))
        {
            return File.ReadAllText(path).Trim(); // another process created it first
        }
    }
}
