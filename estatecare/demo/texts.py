"""The words of the demo history: what residents complain about, in each language, with how a
supervisor assesses it and what the handler wrote as the result; the revisit answers, the
explanations of invalid complaints and the work orders' descriptions."""

from __future__ import annotations

from dataclasses import dataclass

from models.enums import Category, Locale, ServiceArea, Severity, Urgency, WorkOrderKind


@dataclass(frozen=True)
class Topic:
    """One kind of complaint: its text per language, its assessment and the handler's result.

    ``shared``: about a shared area (often reported without a unit); ``job``: the work order its
    handling leads to; ``summer``: reported more from May to September.
    """

    key: str
    category: Category
    area: ServiceArea
    text: dict[Locale, str]
    result: tuple[str, str]  # Traditional, Simplified
    weight: int = 10
    shared: bool = False
    severity: Severity = Severity.GENERAL
    urgency: Urgency = Urgency.NORMAL
    valid: bool = True
    rectification: bool = False
    job: WorkOrderKind | None = None
    summer: bool = False


def _t(
    key: str, category: Category, area: ServiceArea, hant: str, hans: str, en: str, *result: str, **traits: object
) -> Topic:
    text = {Locale.ZH_HANT: hant, Locale.ZH_HANS: hans, Locale.EN: en}
    return Topic(key, category, area, text, (result[0], result[1]), **traits)  # type: ignore[arg-type]


C, A = Category, ServiceArea
MAJOR, URGENT = Severity.MAJOR, Urgency.URGENT

# fmt: off
TOPICS: tuple[Topic, ...] = (  # key, category, area, traits; text in zh-Hant, zh-Hans, en; result zh-Hant, zh-Hans
    _t("leak", C.FACILITY, A.REPAIRS,
       "廁所天花板一直滴水，應該是樓上單位漏水，麻煩派人來看看。",
       "卫生间天花板一直滴水，应该是楼上漏下来的，麻烦派人来看看。",
       "Water keeps dripping from the bathroom ceiling, probably a leak from the flat above. Please send someone.",
       "已聯絡樓上住戶，更換其浴室去水位密封圈，天花板已停止滴水。",
       "已联系楼上住户，更换其浴室地漏密封圈，天花板已不再滴水。",
       weight=16, job=WorkOrderKind.REPAIR, summer=True),
    _t("corridor-light", C.FACILITY, A.REPAIRS,
       "走廊的燈壞了快一個星期，晚上回家很黑。",
       "楼道灯坏了快一个星期，晚上回家黑乎乎的。",
       "The corridor light has been out for almost a week; it is dark when I come home at night.",
       "已更換走廊燈管及感應器，並巡查同層其餘照明。",
       "已更换楼道灯管和感应器，并检查了同层其他照明。",
       weight=12, shared=True, job=WorkOrderKind.REPAIR),
    _t("lift", C.FACILITY, A.REPAIRS,
       "大堂兩部電梯今天停了一部，另一部要等很久，老人家上落不便。",
       "大堂两部电梯今天停了一部，另一部要等很久，老人上下楼很不方便。",
       "One of the two lobby lifts has been out of service all day; the wait is long for elderly residents.",
       "電梯公司已更換門機控制板，電梯經測試後恢復運作。",
       "电梯公司已更换门机控制板，电梯经测试后恢复运行。",
       weight=9, shared=True, job=WorkOrderKind.REPAIR),
    _t("intercom", C.FACILITY, A.REPAIRS,
       "家中對講機沒有聲音，朋友來訪要打電話叫我下樓開門。",
       "家里的对讲机没有声音，朋友来了要打电话叫我下楼开门。",
       "The intercom in my flat has no sound; visitors have to phone me to come down and open the door.",
       "已更換對講機話筒及線路接頭，測試通話正常。",
       "已更换对讲机话筒及线路接头，测试通话正常。",
       weight=7, job=WorkOrderKind.REPAIR),
    _t("drain", C.FACILITY, A.REPAIRS,
       "廚房去水很慢，已經堵了兩天，有異味。",
       "厨房下水很慢，已经堵了两天，有异味。",
       "The kitchen drain has been blocked for two days and smells.",
       "已通渠並清理喉管積聚油污，去水回復正常。",
       "已疏通管道并清理积聚油污，下水恢复正常。",
       weight=9, job=WorkOrderKind.REPAIR),
    _t("water-pressure", C.FACILITY, A.REPAIRS,
       "這幾天水壓很低，洗澡時熱水時有時無。",
       "这几天水压很低，洗澡的时候热水时有时无。",
       "The water pressure has been very low for days; the hot water keeps cutting out in the shower.",
       "已清洗天台水箱進水閥及加壓泵濾網，水壓回復正常。",
       "已清洗楼顶水箱进水阀及加压泵滤网，水压恢复正常。",
       weight=6, job=WorkOrderKind.REPAIR, summer=True),
    _t("gate", C.FACILITY, A.REPAIRS,
       "停車場出口閘杆經常不升起，排隊的車堵到路口。",
       "停车场出口道闸经常抬不起来，排队的车堵到路口。",
       "The car-park exit barrier often fails to lift and cars queue back to the road.",
       "已更換閘杆電機及感應線圈，連續觀察三日運作正常。",
       "已更换道闸电机和感应线圈，连续观察三天运行正常。",
       weight=5, shared=True, job=WorkOrderKind.REPAIR),
    _t("card-reader", C.FACILITY, A.REPAIRS,
       "大堂門禁讀卡器時靈時不靈，要拍很多次才開門。",
       "大堂门禁读卡器时灵时不灵，要刷很多次才开门。",
       "The lobby card reader works only now and then; I have to tap my card many times.",
       "已更換讀卡器模組並重新登記住戶門卡。",
       "已更换读卡器模块并重新登记住户门卡。",
       weight=5, shared=True, job=WorkOrderKind.REPAIR),
    _t("trapped", C.SAFETY, A.REPAIRS,
       "有人被困電梯，按了警鐘也沒人回應，請馬上派人！",
       "有人被困电梯，按了警铃也没人回应，请马上派人！",
       "Someone is trapped in the lift and nobody answers the alarm bell. Send someone now!",
       "保安五分鐘內到場救出住戶，電梯公司更換平層感應器，警鐘線路已修復。",
       "保安五分钟内到场救出住户，电梯公司更换平层感应器，警铃线路已修复。",
       weight=2, shared=True, severity=MAJOR, urgency=URGENT, job=WorkOrderKind.URGENT_REPAIR),
    _t("gas", C.SAFETY, A.SECURITY,
       "樓梯間有很濃的煤氣味，擔心有洩漏。",
       "楼道里有很浓的煤气味，担心有泄漏。",
       "There is a strong smell of gas in the stairwell; I am afraid something is leaking.",
       "保安即時疏散及通知燃氣公司，證實為住戶爐具接駁喉老化，已更換並逐戶檢查。",
       "保安立即疏散并通知燃气公司，证实为住户灶具连接管老化，已更换并逐户检查。",
       weight=2, shared=True, severity=MAJOR, urgency=URGENT, job=WorkOrderKind.URGENT_REPAIR),
    _t("facade", C.SAFETY, A.REPAIRS,
       "外牆有瓷磚鬆脫，昨天有一塊掉在平台花園，好危險。",
       "外墙有瓷砖松脱，昨天有一块掉在平台花园，很危险。",
       "Tiles are coming loose on the outside wall; one fell into the podium garden yesterday. Dangerous.",
       "已圍封危險範圍，承辦商搭棚檢查整幅外牆並重新鋪貼鬆脫瓷磚。",
       "已围挡危险区域，施工方搭架检查整面外墙并重新铺贴松脱瓷砖。",
       weight=2, shared=True, severity=MAJOR, job=WorkOrderKind.MAJOR_REPAIR),
    _t("stranger", C.SAFETY, A.SECURITY,
       "最近常有陌生人跟住戶進大堂派傳單，保安沒有查問。",
       "最近经常有陌生人跟着住户进大堂发传单，保安也不盘问。",
       "Strangers keep following residents into the lobby to hand out flyers and the guards do not stop them.",
       "已加強大堂登記及巡邏，並向當值保安重申訪客登記程序。",
       "已加强大堂登记和巡逻，并向当班保安重申访客登记流程。",
       weight=6, shared=True, rectification=True),
    _t("e-bike", C.SAFETY, A.SECURITY,
       "有住戶在走廊為電動單車充電，電線拖過防煙門，很危險。",
       "有住户在楼道给电动车充电，电线拖过防火门，很危险。",
       "A resident charges an e-bike in the corridor with the cable running through the fire door.",
       "已勸喻住戶移走電動單車並張貼告示，保安每日巡查。",
       "已劝导住户移走电动车并张贴告示，保安每日巡查。",
       weight=4, shared=True),
    _t("fire-door", C.SAFETY, A.SECURITY,
       "後樓梯防煙門被雜物堵住，關不上。",
       "后楼梯防火门被杂物堵住，关不上。",
       "The back-stair fire door is blocked by junk and cannot close.",
       "已清走雜物並通知相關住戶，防煙門回復自動關閉。",
       "已清理杂物并通知相关住户，防火门恢复自动关闭。",
       weight=4, shared=True),
    _t("guard-rude", C.SERVICE, A.SECURITY,
       "昨晚回家時門口保安態度很差，問他訪客車位安排就不耐煩。",
       "昨晚回家时门口保安态度很差，问他访客车位怎么安排就很不耐烦。",
       "The guard at the gate was rude last night when I asked about visitor parking.",
       "已約見當值保安作出警告並安排服務培訓，管理處已向住戶致歉。",
       "已约谈当班保安予以警告并安排服务培训，管理处已向业主致歉。",
       weight=6, rectification=True),
    _t("reply-slow", C.SERVICE, A.HOUSING,
       "上星期報修後一直沒有人回覆，打去管理處也說不清楚。",
       "上周报修之后一直没人回复，打电话去管理处也说不清楚。",
       "I reported a repair last week and nobody has replied; the office could not tell me anything.",
       "已追查報修紀錄並即日安排師傅上門，客服中心改為每日跟進未完成報修。",
       "已追查报修记录并当天安排师傅上门，客服中心改为每日跟进未完成报修。",
       weight=6, rectification=True),
    _t("worker-late", C.SERVICE, A.REPAIRS,
       "約好上午十點來修水龍頭，師傅到下午兩點才出現，也沒有通知。",
       "约好上午十点来修水龙头，师傅下午两点才来，也没有提前通知。",
       "The plumber was booked for 10 am but turned up at 2 pm without calling.",
       "已向住戶致歉，工程部改為出發前電話通知住戶並記錄到達時間。",
       "已向业主致歉，工程部改为出发前电话通知业主并记录到达时间。",
       weight=5, rectification=True),
    _t("parcel", C.SERVICE, A.CONVENIENCE,
       "快遞放在保安亭不見了，保安說不知道誰拿走。",
       "快递放在门岗不见了，保安说不知道谁拿走的。",
       "A parcel left at the guard house has gone missing and the guards do not know who took it.",
       "翻查閉路電視找回包裹，保安亭改用登記簿簽收。",
       "调取监控找回包裹，门岗改为登记簿签收。",
       weight=5, rectification=True),
    _t("fee-notice", C.SERVICE, A.HOUSING,
       "這個月管理費通知單金額不對，多收了車位費。",
       "这个月物业费通知单金额不对，多收了车位费。",
       "This month's management fee notice is wrong: it charges me for a parking space I do not have.",
       "已核對並更正收費紀錄，多收款項於下月扣減。",
       "已核对并更正收费记录，多收款项在下月抵扣。",
       weight=4, rectification=True),
    _t("rubbish", C.ENVIRONMENT, A.CLEANING,
       "垃圾房的垃圾兩天沒有清，天氣熱好臭。",
       "垃圾房的垃圾两天没清了，天气热特别臭。",
       "The refuse room has not been emptied for two days and it stinks in this heat.",
       "已即日清運並消毒垃圾房，清潔部改為每日兩次清運。",
       "已当天清运并消毒垃圾房，保洁部改为每日两次清运。",
       shared=True, rectification=True, summer=True),
    _t("corridor-dirty", C.ENVIRONMENT, A.CLEANING,
       "樓層走廊很久沒有拖地，地上有污漬。",
       "楼道很久没拖地了，地上都是污渍。",
       "Our corridor has not been mopped for ages and the floor is stained.",
       "已安排深層清潔並調整清潔排班，主管每週抽查。",
       "已安排深度清洁并调整保洁排班，主管每周抽查。",
       weight=8, shared=True, rectification=True),
    _t("noise", C.ENVIRONMENT, A.HOUSING,
       "樓上單位裝修，晚上九點後還在鑽牆，吵到小朋友不能睡。",
       "楼上装修晚上九点以后还在打钻，吵得孩子睡不着。",
       "The flat upstairs is being renovated and they are still drilling after 9 pm; the children cannot sleep.",
       "已向裝修單位重申施工時間並由保安晚上巡查，之後未再有超時施工。",
       "已向装修户重申施工时间并由保安晚间巡查，之后未再超时施工。",
       weight=9),
    _t("mosquito", C.ENVIRONMENT, A.CLEANING,
       "平台花園積水，蚊子很多，晚上不敢開窗。",
       "平台花园有积水，蚊子很多，晚上都不敢开窗。",
       "Standing water in the podium garden; there are so many mosquitoes that I cannot open my windows.",
       "已清理積水並進行滅蚊噴灑，每兩週巡查一次。",
       "已清理积水并进行灭蚊喷洒，每两周巡查一次。",
       weight=6, shared=True, summer=True),
    _t("trees", C.ENVIRONMENT, A.LANDSCAPING,
       "窗外的樹長得太高，遮住陽光，樹枝碰到窗戶。",
       "窗外的树长得太高，挡住阳光，树枝都碰到窗户了。",
       "The tree outside my window has grown too tall; it blocks the light and the branches hit the glass.",
       "綠化部已修剪樹冠及清走斷枝。",
       "绿化部已修剪树冠并清理断枝。",
       weight=5, summer=True),
    _t("lawn", C.ENVIRONMENT, A.LANDSCAPING,
       "中庭草地很多地方枯黃，也很久沒有剪草。",
       "中庭草坪很多地方发黄，也很久没修剪了。",
       "The lawn in the courtyard is patchy and brown and has not been cut for a long time.",
       "已補種草皮並恢復每週剪草及澆水。",
       "已补种草皮并恢复每周修剪和浇水。",
       weight=4, shared=True, rectification=True),
    _t("dog-mess", C.ENVIRONMENT, A.CLEANING,
       "花園小徑經常有狗糞，沒有人清理。",
       "花园小路上经常有狗屎，没人清理。",
       "There is often dog mess on the garden path and nobody clears it.",
       "已加密清潔次數並張貼告示提醒寵物主人。",
       "已增加清洁频次并张贴告示提醒宠物主人。",
       weight=4, shared=True),
    _t("parking", C.SERVICE, A.VEHICLES,
       "有車長期停在消防通道，保安也不處理。",
       "有车长期停在消防通道上，保安也不管。",
       "A car is parked in the fire lane all the time and security does nothing about it.",
       "已聯絡車主移車，並將消防通道列入保安每小時巡查。",
       "已联系车主挪车，并将消防通道纳入保安每小时巡查。",
       weight=6, shared=True, rectification=True),
    _t("event", C.OTHER, A.COMMUNITY,
       "建議中秋節在會所辦親子燈籠活動，去年很受歡迎。",
       "建议中秋节在会所办亲子灯笼活动，去年很受欢迎。",
       "Please hold the children's lantern evening at the clubhouse again this Mid-Autumn; it was popular.",
       "客服中心已安排中秋親子活動並張貼通告。",
       "客服中心已安排中秋亲子活动并张贴通知。",
       weight=3, shared=True),
    _t("lockers", C.OTHER, A.CONVENIENCE,
       "建議在大堂加裝智能快遞櫃，方便上班族取件。",
       "建议在大堂加装智能快递柜，方便上班族取件。",
       "Could you install parcel lockers in the lobby? It would help those of us who work late.",
       "已與快遞櫃供應商落實安裝位置，下月啟用。",
       "已与快递柜供应商确定安装位置，下月启用。",
       weight=3, shared=True),
    _t("neighbour", C.OTHER, A.HOUSING,
       "隔壁住戶把鞋櫃放在走廊，擋住通道，溝通過也不肯移。",
       "隔壁把鞋柜放在楼道，挡住通道，沟通过也不肯挪。",
       "My neighbour keeps a shoe cabinet in the corridor, blocking the way, and will not move it.",
       "管理處已上門協調，住戶已將鞋櫃移回單位內。",
       "管理处已上门协调，住户已将鞋柜搬回室内。",
       weight=5),
    _t("developer", C.FACILITY, A.REPAIRS,
       "新收樓的窗框滲水，發展商保修期內應該負責。",
       "新收房的窗框渗水，开发商保修期内应该负责。",
       "The window frame in my new flat leaks; the developer's warranty should cover it.",
       "",
       "",
       weight=4, valid=False),
    _t("road-works", C.ENVIRONMENT, A.HOUSING,
       "屋苑外馬路上的道路工程每晚都很吵。",
       "小区外马路上的道路施工每天晚上都很吵。",
       "The road works on the public road outside the estate are noisy every night.",
       "",
       "",
       weight=3, valid=False),
    _t("signal", C.OTHER, A.CONVENIENCE,
       "家裡手機信號很差，寬頻也經常斷線。",
       "家里手机信号很差，宽带也经常断网。",
       "Mobile signal in my flat is poor and the broadband keeps dropping.",
       "",
       "",
       weight=3, valid=False),
    _t("bus", C.SERVICE, A.VEHICLES,
       "屋苑門口的巴士班次太疏，等半小時也沒有車。",
       "小区门口的公交车班次太少，等半小时都没车。",
       "The bus service at the estate gate is too infrequent; I waited half an hour.",
       "",
       "",
       weight=2, valid=False),
)
# fmt: on


#: Why a complaint is outside the company's duty, said to the complainant (R-AS-2), by topic.
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "developer": (
        "保修期內的窗框滲水屬發展商責任，管理處已代為轉交發展商並會跟進維修進度。",
        "保修期内的窗框渗水属开发商责任，管理处已代为转交开发商并会跟进维修进度。",
    ),
    "road-works": (
        "屋苑外的道路工程由政府部門負責，管理處已向相關部門反映夜間施工噪音。",
        "小区外的道路施工由政府部门负责，管理处已向相关部门反映夜间施工噪音。",
    ),
    "signal": (
        "手機信號及寬頻由電訊商負責，管理處已提供電訊商聯絡方法，並可協助安排上門檢測。",
        "手机信号和宽带由运营商负责，管理处已提供运营商联系方式，并可协助安排上门检测。",
    ),
    "bus": (
        "巴士班次由運輸部門及巴士公司決定，管理處已將意見轉交巴士公司。",
        "公交班次由交通部门和公交公司决定，管理处已将意见转交公交公司。",
    ),
}

PROGRESS = (
    ("已安排師傅檢查，需訂購零件，到貨後即上門處理。", "已安排师傅检查，需要订购配件，到货后马上上门处理。"),
    ("承辦商已確認施工時間，期間請留意大堂通告。", "施工单位已确认施工时间，期间请留意大堂通知。"),
    ("已初步處理，仍需觀察數日確認問題已解決。", "已初步处理，还需要观察几天确认问题已解决。"),
)
TRANSFER_REASONS = (
    ("涉及公共地方喉管，需要工程部與管理處協調。", "涉及公共管道，需要工程部与管理处协调。"),
    ("問題超出本部門職權，請主管決定負責部門。", "问题超出本部门职权，请主管决定负责部门。"),
)
DECISION_NOTES = (
    ("請工程部負責，限期內完成並回覆住戶。", "请工程部负责，限期内完成并回复业主。"),
    ("由原處理人繼續跟進，主管每日了解進度。", "由原处理人继续跟进，主管每日了解进度。"),
    ("請即日安排，完成後向我匯報。", "请当天安排，完成后向我汇报。"),
)
RETURN_NOTES = (("請附上完成後的照片並確認住戶滿意。", "请附上完工照片并确认业主满意。"),)
CONFIRM_NOTES = (("已核實處理結果。", "已核实处理结果。"), ("結果屬實，可安排回訪。", "结果属实，可安排回访。"))
OPINIONS = (
    ("紀錄完整，住戶意見已跟進。", "记录完整，业主意见已跟进。"),
    ("回訪及時，同意。", "回访及时，同意。"),
    ("請留意住戶提出的建議。", "请留意业主提出的建议。"),
)
ANSWERS = {
    "punctuality": (("準時", "准时"), ("準時到達", "准时到达"), ("稍遲但有通知", "稍迟但有提前通知")),
    "attitude": (("親切有禮", "热情有礼"), ("良好", "良好"), ("耐心解釋", "耐心解释")),
    "quality": (("問題已解決", "问题已解决"), ("滿意", "满意"), ("完成得很乾淨", "完成得很干净")),
}
SHORTCOMINGS = (
    ("問題仍未完全解決，下雨時仍有滲水。", "问题还没完全解决，下雨时仍然渗水。"),
    ("處理時間太長，也沒有事先通知。", "处理时间太长，也没有提前通知。"),
)
SUGGESTIONS = (
    ("希望維修前可以先短訊通知。", "希望维修前可以先发短信通知。"),
    ("建議在大堂張貼維修進度。", "建议在大堂张贴维修进度。"),
    ("希望增加晚間保安巡邏。", "希望增加晚间保安巡逻。"),
)
NEW_ISSUES = (  # topic, Traditional, Simplified
    ("drain", "住戶另外反映露台去水口經常倒灌。", "业主另外反映阳台地漏经常返水。"),
    ("intercom", "住戶另外反映對講機有雜音，聽不清楚。", "业主另外反映对讲机有杂音，听不清楚。"),
)
REFUSALS = (("住戶表示滿意但不願簽名。", "业主表示满意但不愿签字。"),)
WORK: dict[WorkOrderKind, tuple[tuple[str, str], ...]] = {
    WorkOrderKind.REPAIR: (
        ("更換水龍頭", "更换水龙头"),
        ("維修冷氣機去水", "维修空调排水"),
        ("更換門鎖", "更换门锁"),
        ("維修浴室抽氣扇", "维修卫生间排气扇"),
        ("更換燈掣", "更换开关面板"),
        ("修補牆身裂縫", "修补墙面裂缝"),
    ),
    WorkOrderKind.CLEANING: (
        ("單位外牆清洗", "外墙清洗"),
        ("裝修後清潔", "装修后保洁"),
        ("清洗冷氣隔塵網", "清洗空调滤网"),
        ("露台深層清潔", "阳台深度清洁"),
    ),
    WorkOrderKind.URGENT_REPAIR: (("爆水喉緊急維修", "水管爆裂紧急维修"), ("單位停電緊急搶修", "户内停电紧急抢修")),
    WorkOrderKind.MAJOR_REPAIR: (("更換整段來水喉", "更换整段进水管"), ("天台防水層翻新", "屋顶防水层翻新")),
    WorkOrderKind.RENOVATION: (("廚房翻新完工", "厨房翻新完工"), ("全屋裝修完工", "全屋装修完工")),
    WorkOrderKind.OTHER: (("代收大型傢俬", "代收大件家具"), ("借用會所場地", "借用会所场地")),
}
LETTER_SUBJECT = ("公共地方清潔", "公共区域保洁")
