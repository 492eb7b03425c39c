"""Reading a force's own extract files: CSV in a declared encoding, .xlsx, .xls and .ods workbooks,
file names, and the mapping of its headers, codes and date forms onto the contract's fields.
Knows formats, not the contract (the register supplies its fields). May use monitor.core only.
"""
