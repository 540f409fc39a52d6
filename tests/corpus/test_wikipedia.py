import bz2

from lontar.config import SourceConfig
from lontar.corpus.sources import iter_source

DUMP = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" xml:lang="km">
  <siteinfo>
    <sitename>វិគីភីឌា</sitename>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="6" case="first-letter">ឯកសារ</namespace>
      <namespace key="14" case="first-letter">ចំណាត់ថ្នាក់ក្រុម</namespace>
    </namespaces>
  </siteinfo>
  <page>
    <title>ភ្នំពេញ</title><ns>0</ns><id>1</id>
    <revision><id>10</id><text xml:space="preserve">{{Infobox city|name=ភ្នំពេញ}}
'''ភ្នំពេញ''' គឺជា[[រាជធានី]]នៃ[[ប្រទេសកម្ពុជា|កម្ពុជា]]។&lt;ref&gt;source&lt;/ref&gt;
[[ឯកសារ:Phnom Penh.jpg|thumb|រូបភាព]]

== ប្រវត្តិ ==
ទីក្រុងនេះមានប្រវត្តិយូរលង់។
[[ចំណាត់ថ្នាក់ក្រុម:រាជធានី]]</text></revision>
  </page>
  <page>
    <title>Phnom Penh</title><ns>0</ns><id>2</id><redirect title="ភ្នំពេញ" />
    <revision><id>11</id><text>#REDIRECT [[ភ្នំពេញ]]</text></revision>
  </page>
  <page>
    <title>ទំព័រគំរូ:Infobox</title><ns>10</ns><id>3</id>
    <revision><id>12</id><text>{{{name}}}</text></revision>
  </page>
</mediawiki>
"""


def test_wikipedia_dump_streams_articles_as_plain_text(tmp_path):
    path = tmp_path / "kmwiki-pages-articles.xml.bz2"
    path.write_bytes(bz2.compress(DUMP.encode("utf-8")))
    items = list(iter_source(SourceConfig(type="wikipedia", path=str(path))))
    good = [r for ok, r in items if ok]
    bad = {r["line"].rsplit("#", 1)[1]: r["reason"] for ok, r in items if not ok}
    assert len(good) == 1
    text = good[0]["text"]
    assert text.startswith("ភ្នំពេញ គឺជារាជធានីនៃកម្ពុជា។")
    assert "ទីក្រុងនេះមានប្រវត្តិយូរលង់។" in text
    for markup in ("Infobox", "source", "រូបភាព", "ចំណាត់ថ្នាក់ក្រុម", "[[", "'''", "thumb"):
        assert markup not in text
    assert bad == {"2": "redirect", "3": "not an article (namespace 10)"}
