"""Generate the example templates into templates/<code>.pdf + templates/<code>.json.

Our own wording for a fictional insurer (示例财产保险股份有限公司); run from the repo root:
    .venv/bin/python scripts/make_templates.py
Sample fill data for each template is in templates/<code>.sample.json (used by tests/bench).
"""
from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from documents.build import (CheckboxRow, FieldItem, FieldRow, FormSpec, Heading, Paragraph,  # noqa: E402
                             SignatureBox, SignatureRow, TableBlock, Title, build_form)

ISSUER = "示例财产保险股份有限公司（演示用，非真实机构）"
F = FieldItem

EXEMPTION_POLICY = (
    "下列情形之一造成的损失或费用，保险人不负责赔偿：（一）投保人、被保险人的故意行为；"
    "（二）战争、军事行动、暴乱、核辐射或放射性污染；（三）被保险人酒后驾驶、无有效驾驶证驾驶；"
    "（四）保险合同生效前已经存在的损失；（五）其他不属于保险责任范围的损失。"
    "本条款为免除保险人责任的条款，保险人已以加粗、加框方式作出提示，并已就其内容向投保人作出明确说明。")

SPECS = [
    FormSpec(
        code="e_policy", title="电子保单", version=1, issuer=ISSUER,
        description="财产/意外险电子保单，一页；保险人电子签章位于“保险人盖章”。",
        blocks=(
            Title("电子保险单", subtitle="本保单为电子保单，与纸质保单具有同等法律效力"),
            FieldRow((F("保单号", "policy_no", max_length=24), F("产品名称", "product_name", max_length=20))),
            FieldRow((F("投保人", "holder_name", max_length=20), F("证件号码", "holder_id_no", max_length=18))),
            FieldRow((F("被保险人", "insured_name", max_length=20), F("证件号码", "insured_id_no", max_length=18))),
            FieldRow((F("保险金额", "sum_insured", "amount", share=1.3, currency="人民币", amount_upper=True),
                      F("保险费", "premium", "amount", share=0.7, currency="¥"))),
            FieldRow((F("保险期间自", "start_date", "date"), F("至", "end_date", "date"))),
            CheckboxRow("受益人", (("beneficiary_legal", "法定"), ("beneficiary_named", "指定"))),
            TableBlock("coverages", "保障项目", (("item", "保障项目", 2.2, "left"),
                                             ("amount", "保险金额（元）", 1.2, "right"),
                                             ("premium", "保险费（元）", 1.0, "right")), rows=4),
            FieldRow((F("特别约定", "special_terms", lines=2, required=False),)),
            Paragraph(EXEMPTION_POLICY, boxed=True, title="免责条款（请重点阅读）"),
            Paragraph("保险人已向投保人提供并说明保险条款，投保人已阅读并理解保险条款，"
                      "特别是免除保险人责任的条款。保单查询与验真请访问保险人官方网站或扫描防伪二维码。", size=8.5),
            FieldRow((F("签发日期", "issue_date", "date"), F("经办人", "handler", required=False, max_length=10))),
            SignatureRow((SignatureBox("insurer", "保险人盖章", seal=True),)),
        )),
    FormSpec(
        code="application", title="投保单", version=1, issuer=ISSUER,
        description="个人投保单；投保人签名 + 被保险人签名。",
        blocks=(
            Title("个人保险投保单"),
            Heading("一、投保人信息"),
            FieldRow((F("姓名", "holder_name", max_length=20), F("证件号码", "holder_id_no", max_length=18))),
            FieldRow((F("联系电话", "holder_phone", max_length=15), F("电子邮箱", "holder_email", required=False, max_length=40))),
            FieldRow((F("联系地址", "holder_address", max_length=60),)),
            Heading("二、被保险人信息"),
            FieldRow((F("姓名", "insured_name", max_length=20), F("与投保人关系", "relation", max_length=6))),
            FieldRow((F("证件号码", "insured_id_no", max_length=18), F("出生日期", "insured_birth", "date"))),
            Heading("三、投保内容"),
            FieldRow((F("产品名称", "product_name", max_length=24), F("保险期间", "period", max_length=12))),
            FieldRow((F("保险金额", "sum_insured", "amount", currency="人民币", amount_upper=True),)),
            FieldRow((F("首期保险费", "premium", "amount", currency="¥"), F("缴费方式", "pay_mode", max_length=8))),
            CheckboxRow("健康告知（如有以下情况请勾选）", (("health_hospital", "近两年住院"),
                                                     ("health_chronic", "慢性疾病"),
                                                     ("health_none", "以上均无"))),
            Heading("四、免责条款与声明"),
            Paragraph(EXEMPTION_POLICY, boxed=True, title="免责条款（投保人须认真阅读）"),
            Paragraph("投保人声明：本人已阅读保险条款及免责条款，保险人已就免除保险人责任的条款作出明确说明，"
                      "本人所填写的内容真实、准确、完整。本人同意以电子签名方式签署本投保单。", size=9),
            SignatureRow((SignatureBox("policyholder", "投保人签名", date_field="holder_sign_date"),
                          SignatureBox("insured", "被保险人签名", date_field="insured_sign_date"))),
        )),
    FormSpec(
        code="endorsement", title="批单", version=1, issuer=ISSUER,
        description="保单批改（批单），保险人盖章。",
        blocks=(
            Title("保险批单"),
            FieldRow((F("批单号", "endorsement_no", max_length=24), F("原保单号", "policy_no", max_length=24))),
            FieldRow((F("投保人", "holder_name", max_length=20), F("批改申请日期", "apply_date", "date"))),
            FieldRow((F("批改项目", "change_item", max_length=20), F("批改生效日期", "effective_date", "date"))),
            FieldRow((F("批改前", "before", max_length=40),)),
            FieldRow((F("批改后", "after", max_length=40),)),
            FieldRow((F("保费变化", "premium_change", "amount", currency="¥", required=False),)),
            FieldRow((F("批文", "endorsement_text", lines=4),)),
            Paragraph("本批单为原保险合同的组成部分，除本批单所载变更事项外，原保险合同其他内容不变。"
                      "批单内容与原保险合同不一致的，以本批单为准。", size=9),
            SignatureRow((SignatureBox("policyholder", "投保人签名"),
                          SignatureBox("insurer", "保险人盖章", seal=True))),
        )),
    FormSpec(
        code="receipt", title="回执单", version=1, issuer=ISSUER,
        description="保单签收回执。",
        blocks=(
            Title("保险合同签收回执"),
            FieldRow((F("保单号", "policy_no", max_length=24), F("产品名称", "product_name", max_length=20))),
            FieldRow((F("投保人", "holder_name", max_length=20), F("签收日期", "receipt_date", "date"))),
            CheckboxRow("签收方式", (("by_email", "电子邮件"), ("by_sms", "短信链接"), ("by_paper", "纸质送达"))),
            Paragraph("本人已收到上述保险合同，包括保险单、保险条款、投保单复印件、现金价值表及其他约定书。"
                      "本人已认真阅读保险条款，特别是责任免除条款、犹豫期及退保等内容。"
                      "犹豫期为自签收之日起十五日。", size=9.5),
            SignatureRow((SignatureBox("policyholder", "投保人签名", date_field="sign_date"),)),
        )),
    FormSpec(
        code="claim_form", title="理赔申请书", version=1, issuer=ISSUER,
        description="理赔申请书；申请人签名。",
        blocks=(
            Title("保险理赔申请书"),
            FieldRow((F("报案号", "report_no", max_length=20), F("保单号", "policy_no", max_length=24))),
            FieldRow((F("申请人", "applicant_name", max_length=20), F("证件号码", "applicant_id_no", max_length=18))),
            FieldRow((F("联系电话", "applicant_phone", max_length=15), F("与被保险人关系", "relation", max_length=6))),
            FieldRow((F("出险日期", "accident_date", "date"), F("出险地点", "accident_place", max_length=30))),
            FieldRow((F("出险经过", "accident_desc", lines=4),)),
            FieldRow((F("申请金额", "claim_amount", "amount", currency="人民币", amount_upper=True),)),
            TableBlock("documents_list", "提交材料清单", (("name", "材料名称", 3.0, "left"),
                                                      ("copies", "份数", 1.0, "center")), rows=5),
            FieldRow((F("开户银行", "bank_name", max_length=24), F("银行账号", "bank_account", max_length=24))),
            Paragraph("申请人声明：以上所述均属实，如有隐瞒或虚假陈述，愿承担相应法律责任。"
                      "本人授权保险人向相关医疗机构及单位查询与本次事故有关的资料。", size=9),
            SignatureRow((SignatureBox("applicant", "申请人签名", date_field="sign_date"),)),
        )),
    FormSpec(
        code="agent_agreement", title="保险代理人合同", version=1, issuer=ISSUER,
        description="个人保险代理人委托代理合同；代理人签名 + 保险人盖章。",
        blocks=(
            Title("个人保险代理人委托代理合同"),
            FieldRow((F("合同编号", "contract_no", max_length=24), F("签订日期", "sign_date", "date"))),
            FieldRow((F("委托人（甲方）", "principal", max_length=30),)),
            FieldRow((F("代理人（乙方）", "agent_name", max_length=20), F("证件号码", "agent_id_no", max_length=18))),
            FieldRow((F("执业证编号", "license_no", max_length=30), F("代理区域", "region", max_length=20))),
            FieldRow((F("合同期限自", "start_date", "date"), F("至", "end_date", "date"))),
            Heading("第一条 委托事项"),
            Paragraph("甲方委托乙方在约定区域内代为销售甲方指定的保险产品、代收保险费，并协助办理保全与理赔申请。"
                      "乙方应当遵守法律法规及监管规定，如实向投保人说明保险条款，不得误导销售。"),
            Heading("第二条 佣金"),
            Paragraph("甲方按照双方确认的佣金标准向乙方支付佣金，佣金按月结算。乙方代收的保险费应于收取后"
                      "二十四小时内全额交付甲方，不得挪用、截留。"),
            TableBlock("commission", "佣金标准", (("product", "产品类别", 2.0, "left"),
                                               ("rate", "首年佣金比例", 1.0, "center"),
                                               ("renewal", "续年佣金比例", 1.0, "center")), rows=3),
            Heading("第三条 合同解除"),
            Paragraph("乙方有欺骗投保人、挪用保险费等违法违规行为的，甲方有权立即解除本合同并追究责任。"
                      "任何一方提前三十日书面通知对方，可以解除本合同。"),
            SignatureRow((SignatureBox("agent", "代理人签名"),
                          SignatureBox("insurer", "保险人盖章", seal=True))),
        )),
    FormSpec(
        code="reinsurance", title="再保合同", version=1, issuer=ISSUER,
        description="临时分保再保险合同（摘要）；分出人与接受人盖章。",
        blocks=(
            Title("临时分保再保险合同"),
            FieldRow((F("合同编号", "contract_no", max_length=24), F("签订日期", "sign_date", "date"))),
            FieldRow((F("分出人", "cedent", max_length=30),)),
            FieldRow((F("接受人", "reinsurer", max_length=30),)),
            FieldRow((F("原保单号", "policy_no", max_length=24), F("险种", "line_of_business", max_length=16))),
            FieldRow((F("原保险金额", "sum_insured", "amount", currency="人民币", amount_upper=True),)),
            FieldRow((F("分保比例", "share_text", max_length=10), F("分保费", "reinsurance_premium", "amount", currency="¥"))),
            FieldRow((F("分保期间自", "start_date", "date"), F("至", "end_date", "date"))),
            TableBlock("layers", "分保安排", (("layer", "层次", 1.4, "left"),
                                           ("limit", "责任限额（元）", 1.4, "right"),
                                           ("share", "接受比例", 1.0, "center")), rows=3),
            Paragraph("接受人按照约定比例承担原保险合同项下的赔偿责任，并按同一比例分享保险费。"
                      "分出人应及时向接受人通报重大赔案。本合同未尽事宜，按照国际再保险惯例及双方书面约定办理。"),
            SignatureRow((SignatureBox("cedent", "分出人盖章", seal=True),
                          SignatureBox("reinsurer", "接受人盖章", seal=True))),
        )),
    FormSpec(
        code="guarantee_letter", title="诉责保函", version=1, issuer=ISSUER,
        description="诉讼财产保全责任保险保函；保险人盖章。",
        blocks=(
            Title("诉讼财产保全责任保险保函"),
            FieldRow((F("保函编号", "letter_no", max_length=24), F("出具日期", "issue_date", "date"))),
            FieldRow((F("致（受理法院）", "court", max_length=30),)),
            FieldRow((F("申请人（被保险人）", "applicant", max_length=30),)),
            FieldRow((F("被申请人", "respondent", max_length=30),)),
            FieldRow((F("案由", "cause", max_length=20), F("保单号", "policy_no", max_length=24))),
            FieldRow((F("保全金额", "preservation_amount", "amount", currency="人民币", amount_upper=True),)),
            Paragraph("鉴于申请人向贵院申请诉讼财产保全，本保险人承诺：如因申请人申请保全错误致使被申请人遭受损失，"
                      "经人民法院生效法律文书确定应由申请人承担赔偿责任的，本保险人在上述保全金额范围内承担赔偿责任。"
                      "本保函自出具之日起生效，至保全错误赔偿责任确定之日终止。"),
            SignatureRow((SignatureBox("insurer", "保险人盖章", seal=True, date_field="seal_date"),)),
        )),
]


SAMPLES = {
    "e_policy": {
        "policy_no": "PDEA202611250001", "product_name": "安心个人意外伤害保险",
        "holder_name": "张伟", "holder_id_no": "110101199003071234",
        "insured_name": "李娜", "insured_id_no": "11010119920812234X",
        "sum_insured": "10000", "premium": 128.5, "start_date": "2026-11-26", "end_date": "2027-11-25",
        "beneficiary_legal": True, "beneficiary_named": False,
        "coverages": [{"item": "意外身故、伤残", "amount": 10000, "premium": 98.5},
                      {"item": "意外医疗", "amount": 2000, "premium": 30}],
        "special_terms": "意外医疗免赔额100元，赔付比例90%。", "issue_date": "2026-11-25", "handler": "王芳",
    },
    "application": {
        "holder_name": "张伟", "holder_id_no": "110101199003071234", "holder_phone": "13800138000",
        "holder_address": "北京市东城区示例路1号院2号楼301室", "insured_name": "张小明", "relation": "子女",
        "insured_id_no": "110101201505051238", "insured_birth": "2015-05-05",
        "product_name": "少儿重大疾病保险", "period": "至25周岁", "sum_insured": 300000,
        "premium": "3,560.00", "pay_mode": "年缴", "health_hospital": False, "health_chronic": False,
        "health_none": True, "holder_sign_date": "2026-11-25",
    },
    "endorsement": {
        "endorsement_no": "EN202611250007", "policy_no": "PDEA202611250001", "holder_name": "张伟",
        "apply_date": "2026-11-20", "change_item": "保险金额", "effective_date": "2026-11-26",
        "before": "保险金额：10000元", "after": "保险金额：20000元", "premium_change": 98.5,
        "endorsement_text": "经投保人申请，保险人同意自批改生效日起将意外身故、伤残保险金额由人民币壹万元整调整为贰万元整，加收保险费98.50元。",
    },
    "receipt": {
        "policy_no": "PDEA202611250001", "product_name": "安心个人意外伤害保险", "holder_name": "张伟",
        "receipt_date": "2026-11-25", "by_email": False, "by_sms": True, "by_paper": False,
        "sign_date": "2026-11-25",
    },
    "claim_form": {
        "report_no": "RPT2026112500031", "policy_no": "PDEA202611250001", "applicant_name": "李娜",
        "applicant_id_no": "11010119920812234X", "applicant_phone": "13900139000", "relation": "本人",
        "accident_date": "2026-11-10", "accident_place": "上海市浦东新区示例大道88号",
        "accident_desc": "2026年11月10日上午，被保险人在上班途中于地铁站楼梯滑倒，造成右踝关节骨折，当日于附近医院就诊并住院治疗五天。",
        "claim_amount": "12345.67",
        "documents_list": [{"name": "理赔申请书", "copies": "1"}, {"name": "身份证复印件", "copies": "1"},
                           {"name": "医疗费用发票", "copies": "3"}],
        "bank_name": "示例银行上海分行", "bank_account": "6222020200112233445", "sign_date": "2026-11-25",
    },
    "agent_agreement": {
        "contract_no": "AG2026-0815", "sign_date": "2026-11-25", "principal": "示例财产保险股份有限公司北京分公司",
        "agent_name": "赵磊", "agent_id_no": "110105198811112345", "license_no": "02000111000080002026000123",
        "region": "北京市朝阳区", "start_date": "2026-12-01", "end_date": "2029-11-30",
        "commission": [{"product": "短期意外险", "rate": "20%", "renewal": "10%"},
                       {"product": "家庭财产险", "rate": "15%", "renewal": "8%"}],
    },
    "reinsurance": {
        "contract_no": "FAC2026-0099", "sign_date": "2026-11-25", "cedent": "示例财产保险股份有限公司",
        "reinsurer": "示例再保险股份有限公司", "policy_no": "PPRP202611000123", "line_of_business": "企业财产险",
        "sum_insured": "500000000", "share_text": "30%", "reinsurance_premium": "450000.00",
        "start_date": "2026-12-01", "end_date": "2027-11-30",
        "layers": [{"layer": "第一层", "limit": "200,000,000.00", "share": "30%"},
                   {"layer": "第二层", "limit": "300,000,000.00", "share": "30%"}],
    },
    "guarantee_letter": {
        "letter_no": "BH2026112500012", "issue_date": "2026-11-25", "court": "北京市朝阳区人民法院",
        "applicant": "北京示例科技有限公司", "respondent": "上海某某贸易有限公司", "cause": "买卖合同纠纷",
        "policy_no": "PSBZ202611250012", "preservation_amount": "1500000", "seal_date": "2026-11-25",
    },
}


def main() -> None:
    out = ROOT / "templates"
    out.mkdir(exist_ok=True)
    for spec in SPECS:
        built = build_form(spec)
        (out / f"{spec.code}.pdf").write_bytes(built.pdf)
        (out / f"{spec.code}.json").write_text(built.template.to_json() + "\n", encoding="utf-8")
        (out / f"{spec.code}.sample.json").write_text(
            json.dumps(SAMPLES[spec.code], ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"{spec.code:18s} {spec.title:10s} pages={built.page_count} "
              f"pdf={len(built.pdf) / 1024:.1f} KB fields={len(built.template.fields)}")


if __name__ == "__main__":
    main()
