"""The faces the service prints with (the documents, the receipts): where they are found, which glyphs
each has, and the chain of faces a line is set in."""
