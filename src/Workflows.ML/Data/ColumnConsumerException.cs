namespace Workflows.ML.Data;

/// <summary>Carries a column consumer's exception through the reader's "corrupt chunk" handling untouched.</summary>
internal sealed class ColumnConsumerException(Exception inner) : Exception(inner.Message, inner);
