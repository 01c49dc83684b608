// The one shape every report.md section has: a blank line, its heading, a blank line, its explanation.
using System.Text;

namespace NetStack.LoadGen.Reports;

/// <summary>Pieces of report.md shared by its sections.</summary>
internal static class MarkdownText
{
    /// <summary>A section: a blank line, its heading, a blank line, and its explanation (if any) with a blank line after.</summary>
    public static void Section(StringBuilder sb, string title, string? text = null)
    {
        sb.AppendLine();
        sb.AppendLine("## " + title);
        sb.AppendLine();
        if (text is not null)
        {
            sb.AppendLine(text);
            sb.AppendLine();
        }
    }
}
