import io, zipfile, os
os.makedirs('corpus/spreadsheet', exist_ok=True)
def book(sheet, shared=None, styles=None):
    b = io.BytesIO()
    z = zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED)
    ct = '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>'
    z.writestr('[Content_Types].xml', ct)
    z.writestr('_rels/.rels', '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr('xl/workbook.xml', '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
    z.writestr('xl/_rels/workbook.xml.rels', '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    if shared: z.writestr('xl/sharedStrings.xml', shared)
    if styles: z.writestr('xl/styles.xml', styles)
    z.writestr('xl/worksheets/sheet1.xml', '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + sheet + '</sheetData></worksheet>')
    z.close()
    return b.getvalue()
shared = '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3"><si><t>站点</t></si><si><t>时间</t></si><si><r><t>so</t></r><r><t>2</t></r></si></sst>'
styles = '<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>'
rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>城关</t></is></c><c r="B2" s="1"><v>46091.5</v></c><c r="C2"><v>12.5</v></c></row><row r="4"><c r="A4" t="str"><v>x</v></c><c r="B4" t="b"><v>1</v></c><c r="C4" t="e"><v>#N/A</v></c></row>'
open('corpus/spreadsheet/book.xlsx', 'wb').write(book(rows, shared, styles))
open('corpus/spreadsheet/inline.xlsx', 'wb').write(book('<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row><row r="2"><c r="A2"><v>1</v></c></row>'))
open('corpus/spreadsheet/sparse_bomb.xlsx', 'wb').write(open('../crates/tabular/tests/data/sparse_bomb.xlsx', 'rb').read())
open('corpus/spreadsheet/utf8.csv', 'wb').write('站点,时间,so2\n城关,2026-03-10 01:00,12\n"a,b","two\nlines",\n'.encode())
open('corpus/spreadsheet/gbk.csv', 'wb').write('\ufeff'.encode() + '站点,so2\nA,1\n'.encode())
open('corpus/spreadsheet/gbk2.csv', 'wb').write('站点,二氧化硫\n城关镇,12\n'.encode('gbk'))
